import CoreSupport
import Foundation
import Kernels
import TestSupport
import Testing

/// Kernelspec discovery against `jupyter kernelspec list --json` from the pinned environment.
@Suite(.serialized)
struct KernelSpecTests {
    func writeSpec(_ dir: String, _ name: String, display: String, extra: String = "") throws {
        let path = FilePath.join(dir, "kernels", name)
        try FileIO.createDirectory(path)
        try AtomicFile.write(
            "{\"argv\": [\"python\", \"-m\", \"ipykernel_launcher\", \"-f\", \"{connection_file}\"], \"display_name\": \"\(display)\", \"language\": \"python\"\(extra)}",
            to: FilePath.join(path, "kernel.json"))
    }

    @Test func resolvesLikeJupyterIncludingShadowing() throws {
        let root = TestEnvironment.scratch("specs")
        let first = FilePath.join(root, "first")
        let second = FilePath.join(root, "second")
        let data = FilePath.join(root, "userdata")
        try writeSpec(first, "shadowed", display: "from first", extra: ", \"env\": {\"A\": \"1\"}, \"interrupt_mode\": \"message\"")
        try writeSpec(second, "shadowed", display: "from second")
        try writeSpec(second, "only-second", display: "second only", extra: ", \"metadata\": {\"k\": [1, 2.5]}")
        try writeSpec(data, "user-kernel", display: "user")
        try writeSpec(data, "Mixed.Case", display: "mixed")
        try writeSpec(first, "bad name!", display: "listed with a warning")
        try FileIO.createDirectory(FilePath.join(first, "kernels", "no-json"))
        var env = ProcessInfo.processInfo.environment
        env["JUPYTER_PATH"] = "\(first):\(second)/"
        env["JUPYTER_DATA_DIR"] = data
        env["HOME"] = root
        env.removeValue(forKey: "JUPYTER_PREFER_ENV_PATH")

        let jupyter = FilePath.join(TestEnvironment.pythonEnv, "bin", "jupyter")
        let result = try Command.run([jupyter, "kernelspec", "list", "--json"], environment: env)
        #expect(result.status == 0)
        let expected = try JSON.parse(result.stdout)

        let finder = KernelSpecFinder(pythonPrefix: TestEnvironment.pythonEnv, environment: env)
        var all = JSONObject()
        for spec in finder.allSpecs().specs {
            all[spec.name] = ["resource_dir": .string(spec.resourceDirectory), "spec": spec.specJSON]
        }
        let ours: JSON = ["kernelspecs": .object(all)]
        #expect(ours == expected)
        #expect(try finder.spec(named: "shadowed").displayName == "from first")
        #expect(try finder.spec(named: "MIXED.case").name == "mixed.case")
        #expect(finder.dataPath.first == first)
    }

    @Test func preferEnvPathFalsePutsTheUserFirst() throws {
        let root = TestEnvironment.scratch("prefer")
        var env = ProcessInfo.processInfo.environment
        env["JUPYTER_DATA_DIR"] = FilePath.join(root, "user")
        env["JUPYTER_PREFER_ENV_PATH"] = "0"
        env.removeValue(forKey: "JUPYTER_PATH")
        let jupyter = FilePath.join(TestEnvironment.pythonEnv, "bin", "jupyter")
        let result = try Command.run([jupyter, "--paths", "--json"], environment: env)
        let expected = try JSON.parse(result.stdout)["data"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let finder = KernelSpecFinder(pythonPrefix: TestEnvironment.pythonEnv, environment: env)
        #expect(finder.dataPath == expected)
    }

    @Test func brokenSpecsAreReportedWithTheirPath() throws {
        let root = TestEnvironment.scratch("broken")
        let path = FilePath.join(root, "kernels", "broken")
        try FileIO.createDirectory(path)
        try AtomicFile.write("{\"argv\": [], \"display_name\": 3", to: FilePath.join(path, "kernel.json"))
        let finder = KernelSpecFinder(pythonPrefix: nil, environment: ["JUPYTER_PATH": root, "HOME": root])
        let (specs, problems) = finder.allSpecs()
        #expect(!specs.contains { $0.name == "broken" })
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("broken/kernel.json") == true)
        #expect(throws: KernelError.self) { try finder.spec(named: "nope") }
    }
}
