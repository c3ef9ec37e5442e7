import Foundation

/// A kernelspec wrapping ipykernel that will not go quietly, for the stop escalation tests.
///
/// The kernel ignores `shutdown_request` (it never replies and keeps running); with `ignoreSIGTERM`
/// it also ignores SIGTERM (as a cell that ran `signal.signal(signal.SIGTERM, signal.SIG_IGN)`
/// would), so only SIGKILL ends it. Its first cell may start child processes in its process group.
public enum StubbornKernel {
    /// Writes `kernels/NAME/kernel.json` (and the wrapper) under `jupyterPath`, for `JUPYTER_PATH`; returns the spec's folder.
    @discardableResult
    public static func install(name: String, ignoreSIGTERM: Bool, jupyterPath: String) throws -> String {
        let directory = (jupyterPath as NSString).appendingPathComponent("kernels/\(name)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let wrapper = (directory as NSString).appendingPathComponent("stubborn_kernel.py")
        try """
            import signal
            import sys

            from ipykernel.ipkernel import IPythonKernel
            from ipykernel.kernelapp import IPKernelApp


            class StubbornKernel(IPythonKernel):
                async def shutdown_request(self, stream, ident, parent):
                    self.log.warning("stubborn kernel: ignoring shutdown_request")


            if sys.argv[1] == "ignore-sigterm":
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            IPKernelApp.launch_instance(argv=sys.argv[2:], kernel_class=StubbornKernel)

            """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        let python = try Python.executable()
        let spec: [String: Any] = [
            "argv": [python, wrapper, ignoreSIGTERM ? "ignore-sigterm" : "honour-sigterm", "-f", "{connection_file}"],
            "display_name": "Stubborn Python (\(name))", "language": "python",
        ]
        let data = try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("kernel.json")))
        return directory
    }

    /// The processes (pids) in process group `group`, read from /proc.
    public static func processes(inGroup group: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { name -> Int32? in
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                let close = stat.range(of: ")", options: .backwards)
            else { return nil }
            // After "pid (comm) ": state, ppid, pgrp.
            let fields = stat[close.upperBound...].split(separator: " ")
            guard fields.count > 2, Int32(fields[2]) == group, fields[0] != "Z" else { return nil }
            return pid
        }
    }
}
