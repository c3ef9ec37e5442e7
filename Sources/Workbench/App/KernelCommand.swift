import ArgumentParser
import CoreSupport
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Governance
import Kernels
import Lakehouse

struct KernelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Serve a Workbench language as a Jupyter kernel (started by Jupyter clients, not by hand).",
        subcommands: [SQL.self])

    struct SQL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sql",
            abstract: "The lakehouse's SQL as a Jupyter kernel (JupyterLab, jupyter console, wb).",
            discussion: """
                Binds the channels of the connection file a Jupyter client wrote and serves until it asks \
                for shutdown. Install the kernelspec that starts it with `wb kernels install sql`. Cells \
                run through the lakehouse gate as `wb sql` does (authorized as lakehouse:query and audited, one \
                transaction each); completion and inspection show only the tables and columns the user may see; results come back as a text table, \
                HTML and a data resource; tables are named db.table. An interrupt (interrupt_request, which \
                the kernelspec's interrupt_mode "message" asks clients to send, or SIGINT) stops the running \
                cell's statement, which ends with a KeyboardInterrupt error; the kernel stays up.

                Exit codes: 0 shut down; 6 the connection file cannot be read or its ports bound; \
                23 the domain cannot be opened.
                """)

        @Option(name: [.customShort("f"), .customLong("connection-file")], help: "The connection file Jupyter wrote.")
        var connectionFile: String

        @Option(help: "The most rows a cell shows.")
        var displayLimit = 1_000

        @OptionGroup var domain: DomainOptions

        func run() async throws {
            // Cells go through the bus like `wb sql`: authorized and audited as the user running the kernel.
            let parts = try LakehouseClient.openParts(domain, command: "kernel sql")
            let backend = SQLKernelBackend(bus: parts.bus, lakehouse: parts.lakehouse, displayLimit: max(1, displayLimit))
            let server: KernelServer
            do {
                server = try KernelServer(connectionFile: connectionFile, backend: backend)
            } catch {
                printError("wb kernel sql: \(error)")
                throw Exit.kernelUnavailable
            }
            // SIGINT (a client in signal interrupt mode, `kill -INT`) stops the running cell as an
            // interrupt_request does; the kernel stays up for the next one.
            let interrupts = SignalWatcher([SIGINT]) { server.interrupt() }
            let signals = SignalWatcher([SIGTERM]) { server.stop() }
            defer {
                interrupts.stop()
                signals.stop()
                try? parts.governance.audit.flush()
            }
            // The server blocks its thread; keep it off Swift's cooperative pool.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread.start(name: "wb-kernel-sql") {
                    server.run()
                    continuation.resume()
                }
            }
        }
    }
}
