import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels
import Notebook
import Storage
import TUI

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check what Workbench needs and say how to fix each problem.",
        discussion: "Checks the system libraries, the Python environment, the kernels (by starting one), and the domain folder. Exit codes: 0 all good, 8 problems found.")

    @Flag(help: "Print the checks as JSON.")
    var json = false

    @Flag(name: .customLong("no-kernel-start"), help: "Do not start a kernel to check it works.")
    var noKernelStart = false

    struct Check {
        var name: String
        var ok: Bool
        var detail: String
        var fix: String? = nil

        var json: JSON {
            var o: JSONObject = ["check": .string(name), "ok": .bool(ok), "detail": .string(detail)]
            if let fix { o["fix"] = .string(fix) }
            return .object(o)
        }
    }

    func run() async throws {
        var checks: [Check] = []
        // libgit2 and libcurl are checked by loading them here, so that commands which do not
        // need them (wb run above all) do not pay for loading them at start-up.
        var libraries = ["libzmq \(ZMQLibrary.version)", "sqlite \(StorageModule.sqliteVersion)", TUIModule.ncursesVersion]
        var missing: [String] = []
        for (soname, package) in [("libgit2.so.1.5", "libgit2-1.5"), ("libcurl.so.4", "libcurl4")] {
            if let handle = dlopen(soname, RTLD_LAZY) {
                libraries.append(soname)
                dlclose(handle)
            } else {
                missing.append(package)
            }
        }
        checks.append(Check(
            name: "system libraries", ok: missing.isEmpty, detail: libraries.joined(separator: ", "),
            fix: missing.isEmpty ? nil : "apt-get install \(missing.joined(separator: " "))"))

        let finder = KernelSpecFinder()
        let setupFix = "run ./scripts/open (it creates the environment) or set WB_PYTHON_ENV to a Python environment with ipykernel"
        if let prefix = finder.pythonPrefix {
            let python = FilePath.join(prefix, "bin", "python")
            if FileIO.exists(python) {
                checks.append(Check(name: "python environment", ok: true, detail: prefix))
            } else {
                checks.append(Check(name: "python environment", ok: false, detail: "\(python) does not exist", fix: setupFix))
            }
        } else {
            checks.append(Check(
                name: "python environment", ok: false,
                detail: "none recorded (WB_PYTHON_ENV is unset and \(FilePath.join(Environment.workbenchHome, "python-env")) is missing)",
                fix: setupFix))
        }

        let (specs, problems) = finder.allSpecs()
        if specs.isEmpty {
            checks.append(Check(
                name: "kernelspecs", ok: false, detail: "none found in \(finder.kernelDirectories.joined(separator: ", "))",
                fix: "install ipykernel in the Python environment (\(setupFix))"))
        } else {
            checks.append(Check(name: "kernelspecs", ok: true, detail: specs.map(\.name).joined(separator: ", ")))
        }
        for problem in problems {
            checks.append(Check(name: "kernelspec", ok: false, detail: problem.message, fix: "fix or remove that kernel.json"))
        }

        if !noKernelStart, let spec = specs.first(where: { $0.name == "python3" }) ?? specs.first {
            checks.append(await checkKernel(spec, finder: finder))
        }

        let home = Environment.workbenchHome
        do {
            try FileIO.createDirectory(home, mode: 0o700)
            let probe = FilePath.join(home, ".doctor-probe")
            try AtomicFile.write("ok\n", to: probe)
            _ = unlink(probe)
            checks.append(Check(name: "domain folder", ok: true, detail: "\(home) (\(DiskSpace.freeDescription(home)) free)"))
        } catch {
            checks.append(Check(name: "domain folder", ok: false, detail: error.description, fix: "make \(home) writable, or set WB_HOME to a writable folder"))
        }

        if json {
            printJSON(["ok": .bool(checks.allSatisfy(\.ok)), "checks": .array(checks.map(\.json))])
        } else {
            for check in checks {
                print("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)")
                if let fix = check.fix { print("     fix: \(fix)") }
            }
        }
        if !checks.allSatisfy(\.ok) { throw Exit.problemsFound }
    }

    func checkKernel(_ spec: KernelSpec, finder: KernelSpecFinder) async -> Check {
        let started = Clock.monotonic()
        let kernel: KernelManager
        do {
            kernel = try KernelManager.start(spec: spec, pythonPrefix: finder.pythonPrefix)
        } catch {
            return Check(name: "kernel \(spec.name)", ok: false, detail: error.message, fix: "check the kernelspec's argv in \(spec.resourceDirectory)/kernel.json")
        }
        do {
            try await kernel.waitForReady(timeout: 60)
        } catch {
            await kernel.shutdown(timeout: 1)
            return Check(name: "kernel \(spec.name)", ok: false, detail: error.message, fix: "see the kernel log above; reinstall the kernel's package")
        }
        let result = await kernel.execute("1+1")
        await kernel.shutdown()
        let answer = result.outputs.first?.data?["text/plain"]?.stringValue
        guard result.outcome == .ok, answer == "2" else {
            return Check(name: "kernel \(spec.name)", ok: false, detail: "1+1 gave \(answer ?? "no result") (\(result.outcome))")
        }
        return Check(name: "kernel \(spec.name)", ok: true, detail: "started and ran 1+1 in \(format3(Clock.monotonic() - started)) s")
    }
}

enum DiskSpace {
    static func freeDescription(_ path: String) -> String {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return "unknown" }
        let bytes = Double(info.f_bavail) * Double(info.f_frsize)
        if bytes > 1e9 { return "\(format1(bytes / 1e9)) GB" }
        return "\(format1(bytes / 1e6)) MB"
    }
}
