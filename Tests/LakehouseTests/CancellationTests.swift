import CoreSupport
import Dispatch
import Lakehouse
import Storage
import TestSupport
import Testing

/// Cancelling one lakehouse call stops that statement and no other, on real SQLite connections.
@Suite(.timeLimit(.minutes(5)))
struct CancellationTests {
    /// A recursive CTE that streams rows for hours unless it is stopped.
    static let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 9000000000000) SELECT x FROM c"

    /// One query running on a thread of its own: the rows it streamed so far, and how it ended.
    final class Running: Sendable {
        let cancellation = QueryCancellation()
        let rows = LockedBox(0)
        let ended = LockedBox<Result<QueryOutcome, LakehouseError>?>(nil)

        init(_ lakehouse: Lakehouse, _ sql: String) {
            let context = QueryContext(cancellation: cancellation)
            DispatchQueue.global().async { [rows, ended] in
                let result = Result { () throws(LakehouseError) -> QueryOutcome in
                    try lakehouse.execute(sql, context: context, sink: QuerySink { _ in
                        rows.mutate { $0 += 1 }
                        return true
                    })
                }
                ended.mutate { $0 = result }
            }
        }

        var hasEnded: Bool { ended.value != nil }
    }

    @Test func cancellingOneStatementLeavesTheOtherRunning() async throws {
        let fixture = try Fixture("cancel-one")
        let first = Running(fixture.lakehouse, CancellationTests.endless)
        let second = Running(fixture.lakehouse, CancellationTests.endless)
        #expect(await poll(60) { first.rows.value > 0 && second.rows.value > 0 }, "both queries stream rows")

        first.cancellation.cancel()
        #expect(await poll(60) { first.hasEnded })
        guard case .failure(let error) = first.ended.value else {
            Issue.record("the cancelled query ended with \(String(describing: first.ended.value))")
            return
        }
        #expect(error.code == .cancelled)
        #expect(error.description == "the query was cancelled")

        // The other statement was not touched: it goes on streaming rows after the first one stopped.
        let seen = second.rows.value
        #expect(!second.hasEnded, "\(String(describing: second.ended.value))")
        #expect(await poll(60) { second.rows.value > seen + 10_000 || second.hasEnded })
        #expect(!second.hasEnded, "\(String(describing: second.ended.value))")

        second.cancellation.cancel()
        #expect(await poll(60) { second.hasEnded })
        guard case .failure(let secondError) = second.ended.value else {
            Issue.record("the second query ended with \(String(describing: second.ended.value))")
            return
        }
        #expect(secondError.code == .cancelled)

        // The lakehouse is usable after both.
        #expect(try fixture.value("SELECT 1 + 2") == .integer(3))
    }

    @Test func cancelledBeforeItStartsNeverRuns() throws {
        let fixture = try Fixture("cancel-before")
        try fixture.run("CREATE TABLE s.t (x INTEGER)")
        let cancellation = QueryCancellation()
        cancellation.cancel()
        #expect(throws: LakehouseError.self) {
            try fixture.lakehouse.execute("INSERT INTO s.t VALUES (1)", context: QueryContext(cancellation: cancellation))
        }
        #expect(try fixture.value("SELECT count(*) FROM s.t") == .integer(0))
    }
}
