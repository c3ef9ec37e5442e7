import CoreSupport
import Storage
import Testing

@Suite("Concurrency: WAL readers, interruption, time limits")
struct ConcurrencyTests {
    @Test func poolReadersReadSideBySideWhileTheWriterWrites() async throws {
        let pool = try DatabasePool(path: try Scratch.databasePath())
        try await pool.write { db in
            try db.execute("CREATE TABLE t (x INTEGER)")
            try db.execute("INSERT INTO t VALUES (0)")
        }
        let inWrite = Flag(), mayCommit = Flag()
        let writer = onThread {
            try pool.write { db in
                for i in 1...1000 { try db.execute("INSERT INTO t VALUES (?)", [i]) }
                inWrite.raise()
                guard mayCommit.wait() else { throw TimedOutWaiting() }
            }
        }
        #expect(await eventually { inWrite.isRaised })

        // Two reads at once: each waits for the other to be inside its own read, so serialized reads would time out.
        let aInside = Flag(), bInside = Flag()
        async let a = pool.read { db -> Int in
            aInside.raise()
            guard bInside.wait() else { throw TimedOutWaiting() }
            return try db.fetchValue("SELECT count(*) FROM t", as: Int.self)!
        }
        async let b = pool.read { db -> Int in
            bInside.raise()
            guard aInside.wait() else { throw TimedOutWaiting() }
            return try db.fetchValue("SELECT count(*) FROM t", as: Int.self)!
        }
        // Neither sees the uncommitted rows, and neither waits for the writer.
        #expect(try await a == 1)
        #expect(try await b == 1)

        // A read keeps its snapshot while the writer commits under it.
        let firstCounted = Flag(), committed = Flag()
        async let snapshot = pool.read { db -> [Int] in
            let before = try db.fetchValue("SELECT count(*) FROM t", as: Int.self)!
            firstCounted.raise()
            guard committed.wait() else { throw TimedOutWaiting() }
            return [before, try db.fetchValue("SELECT count(*) FROM t", as: Int.self)!]
        }
        #expect(await eventually { firstCounted.isRaised })
        mayCommit.raise()
        try await writer.value
        committed.raise()
        #expect(try await snapshot == [1, 1])
        #expect(try await pool.read { db in try db.fetchValue("SELECT count(*) FROM t", as: Int.self) } == 1001)
    }

    @Test func twoQueuesOnOneFileReadDuringAWrite() async throws {
        let path = try Scratch.databasePath()
        let writerQueue = try DatabaseQueue(path: path)
        let readerQueue = try DatabaseQueue(path: path)
        try await writerQueue.write { db in try db.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1)") }
        let inWrite = Flag(), mayCommit = Flag()
        let writer = onThread {
            try writerQueue.write { db in
                try db.execute("INSERT INTO t VALUES (2)")
                inWrite.raise()
                guard mayCommit.wait() else { throw TimedOutWaiting() }
            }
        }
        #expect(await eventually { inWrite.isRaised })
        #expect(try await readerQueue.read { db in try db.fetchValue("SELECT count(*) FROM t", as: Int.self) } == 1)
        mayCommit.raise()
        try await writer.value
        #expect(try await readerQueue.read { db in try db.fetchValue("SELECT count(*) FROM t", as: Int.self) } == 2)
    }

    @Test func interruptStopsALongQueryFromAnotherThread() async throws {
        let started = Flag()
        let queue = try DatabaseQueue(path: try Scratch.databasePath(), configuration: withStartSignal(started))
        let query = Task { try await queue.read { db in try db.fetchValue(countToABillion, as: Int.self) } }
        #expect(await eventually { started.isRaised })
        let stop = Clock.monotonic()
        queue.interrupt()
        let error = await #expect(throws: DatabaseError.self) { try await query.value }
        #expect(error?.kind == .cancelled)
        #expect(error?.code == .interrupt)
        #expect(Clock.monotonic() - stop < 30)
        // The connection is fine afterwards, and an idle interrupt changes nothing.
        queue.interrupt()
        #expect(try await queue.read { db in try db.fetchValue("SELECT 41 + 1", as: Int.self) } == 42)
    }

    @Test func cancellingTheTaskStopsTheQuery() async throws {
        let started = Flag()
        let pool = try DatabasePool(path: try Scratch.databasePath(), configuration: withStartSignal(started))
        let query = Task { try await pool.read { db in try db.fetchValue(countToABillion, as: Int.self) } }
        #expect(await eventually { started.isRaised })
        let stop = Clock.monotonic()
        query.cancel()
        let error = await #expect(throws: DatabaseError.self) { try await query.value }
        #expect(error?.kind == .cancelled)
        #expect(Clock.monotonic() - stop < 30)
        #expect(try await pool.read { db in try db.fetchValue("SELECT 1", as: Int.self) } == 1)
    }

    @Test func interruptingAPoolStopsItsReaders() async throws {
        let started = Flag()
        let pool = try DatabasePool(path: try Scratch.databasePath(), configuration: withStartSignal(started))
        let query = onThread { try pool.read { db in try db.fetchValue(countToABillion, as: Int.self) } }
        #expect(await eventually { started.isRaised })
        pool.interrupt()
        let error = await #expect(throws: DatabaseError.self) { try await query.value }
        #expect(error?.kind == .cancelled)
    }

    @Test func aDeadlineStopsALongQueryWithItsOwnError() throws {
        let queue = try DatabaseQueue(path: try Scratch.databasePath(), configuration: withStartSignal(Flag()))
        let start = Clock.monotonic()
        let error = #expect(throws: DatabaseError.self) {
            try queue.read { db in try db.withTimeout(0.25) { try db.fetchValue(countToABillion, as: Int.self) } }
        }
        let elapsed = Clock.monotonic() - start
        #expect(error?.kind == .timedOut)
        #expect(error?.code == .interrupt)
        #expect(error.map(String.init(describing:))?.contains("0.25 s") == true)
        #expect(elapsed >= 0.25 && elapsed < 30)
        // A write closure that times out is rolled back like any failure.
        try queue.write { db in try db.execute("CREATE TABLE t (x)") }
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute("INSERT INTO t VALUES (1)")
                try db.withTimeout(0.25) { _ = try db.fetchValue(countToABillion, as: Int.self) }
            }
        }
        #expect(try queue.read { db in try db.fetchValue("SELECT count(*) FROM t", as: Int.self) } == 0)
        // Quick work under a generous limit is untouched.
        #expect(try queue.read { db in try db.withTimeout(60) { try db.fetchValue("SELECT 7", as: Int.self) } } == 7)
    }

    @Test func waitingForALockObeysDeadlinesAndCancellation() async throws {
        let path = try Scratch.databasePath()
        var patient = Configuration()
        patient.busyTimeout = 600
        let holder = try DatabaseQueue(path: path)
        let waiter = try DatabaseQueue(path: path, configuration: patient)
        try await holder.write { db in try db.execute("CREATE TABLE t (x)") }
        let holding = Flag(), release = Flag()
        let lockHolder = onThread {
            try holder.write { db in
                try db.execute("INSERT INTO t VALUES (1)")
                holding.raise()
                guard release.wait(120) else { throw TimedOutWaiting() }
            }
        }
        #expect(await eventually { holding.isRaised })

        let start = Clock.monotonic()
        let timedOut = await #expect(throws: DatabaseError.self) {
            try await onThread {
                try waiter.writeWithoutTransaction { db in
                    try db.withTimeout(0.3) { try db.execute("INSERT INTO t VALUES (2)") }
                }
            }.value
        }
        #expect(timedOut?.kind == .timedOut)
        #expect(timedOut?.code == .busy)
        #expect(Clock.monotonic() - start < 30)

        let entered = Flag()
        let blocked = onThread {
            try waiter.writeWithoutTransaction { db in
                entered.raise()
                try db.execute("INSERT INTO t VALUES (3)")
            }
        }
        #expect(await eventually { entered.isRaised })
        let cancelAt = Clock.monotonic()
        waiter.interrupt()
        let cancelled = await #expect(throws: DatabaseError.self) { try await blocked.value }
        #expect(cancelled?.kind == .cancelled)
        #expect(Clock.monotonic() - cancelAt < 30)

        release.raise()
        try await lockHolder.value
        try await waiter.write { db in try db.execute("INSERT INTO t VALUES (4)") }
        #expect(try await waiter.read { db in try db.fetchValue("SELECT count(*) FROM t", as: Int.self) } == 2)
    }
}
