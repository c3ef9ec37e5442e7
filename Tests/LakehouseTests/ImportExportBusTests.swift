import Catalog
import CoreSupport
import Governance
import Lakehouse
import PluginBus
import Storage
import TestSupport
import Testing

/// `lakehouse.import` and `lakehouse.export` on a governed bus: the authorizer, the audit and the
/// data policy apply to files in and out exactly as to `lakehouse.query`.
@Suite struct ImportExportBusTests {
    private static func policy(_ admin: String) -> String {
        """
        version: 1
        grants:
          - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
          - {id: ivan-import, to: "user:ivan", permissions: ["lakehouse:import"]}
          - {id: ivan-scratch, to: "user:ivan", permissions: [ALL], on: {database: scratch}}
          - {id: erin-export, to: "user:erin", permissions: ["lakehouse:export"]}
          - id: eu-people
            to: user:erin
            permissions: [SELECT]
            on: {table: sales.people}
            columns: {exclude: [salary]}
            rows: "region = 'EU'"
        """
    }

    struct Setup {
        let fixture: GovernedFixture
        let bus: Bus
        let dir: String

        init(_ name: String) throws {
            fixture = try GovernedFixture(name, policy: ImportExportBusTests.policy)
            bus = Bus(middleware: [RequireRegisteredPermission(GovernanceAuthorizer(fixture.governance))])
            try bus.register(LakehousePlugin(fixture.lakehouse, events: bus.publisher))
            dir = try Scratch.directory(name + "-files")
        }

        func file(_ name: String, _ text: String) throws -> String {
            let path = FilePath.join(dir, name)
            try AtomicFile.write(text, to: path)
            return path
        }

        func audited(_ action: String, by user: String) throws -> [Bool] {
            try fixture.governance.audit.flush()
            return try fixture.governance.audit.search(principal: "user:\(user)", action: action).map(\.record.allowed)
        }
    }

    @Test func importNeedsTheActionAndTheTablePermissions() async throws {
        let s = try Setup("bus-import")
        let csv = try s.file("rows.csv", "k,v\n1,a\n2,b\n")
        let admin = Principal(.user, s.fixture.admin)

        // The admin imports through the bus: one snapshot, and the decision is in the audit log.
        let created = try await s.bus.send(LakehouseImport(path: csv, table: "sales.extra"), as: admin)
        #expect(created.created && created.rowsImported == 2)
        #expect(created.columns.map(\.type) == ["INTEGER", "TEXT"])
        #expect(created.snapshot.operation == "create")
        #expect(try s.audited("lakehouse:import", by: s.fixture.admin) == [true])

        // mallory holds no lakehouse:import: the bus refuses before the plugin runs, and says so.
        await #expect {
            _ = try await s.bus.send(LakehouseImport(path: csv, table: "scratch.m"), as: Principal(.user, "mallory"))
        } throws: { error in
            (error as? BusError)?.code == .denied && "\(error)".contains("lakehouse:import")
        }
        #expect(try s.audited("lakehouse:import", by: "mallory") == [false])

        // ivan may import, but only where he may write: scratch yes, sales no (the data policy, in the gate).
        let mine = try await s.bus.send(LakehouseImport(path: csv, table: "scratch.mine"), as: Principal(.user, "ivan"))
        #expect(mine.rowsImported == 2)
        await #expect {
            _ = try await s.bus.send(LakehouseImport(path: csv, table: "sales.extra"), as: Principal(.user, "ivan"))
        } throws: { error in
            (error as? LakehouseError)?.code == .denied
        }
        #expect(try s.fixture.rows("SELECT count(*) FROM sales.extra", as: s.fixture.admin) == [[.integer(2)]])
    }

    @Test func importPublishesProgressForItsRequest() async throws {
        let s = try Setup("bus-progress")
        var text = "id,name,amount\n"
        for i in 0..<20_000 { text += "\(i),name \(i),\(Double(i) / 4)\n" }
        let csv = try s.file("big.csv", text)
        let events = s.bus.events(in: [LakehousePlugin.namespace])
        let id = "import-42"
        let result = try await s.bus.send(LakehouseImport(path: csv, table: "sales.big"), as: Principal(.user, s.fixture.admin), requestID: id)
        #expect(result.rowsImported == 20_000)
        // At least the first batch's progress, then the snapshot; all tagged with the request.
        var progress: [ImportProgressed] = []
        var committed = false
        for await event in events {
            if event.topic == ImportProgressed.topic { progress.append(try event.decode(ImportProgressed.self)) }
            if event.topic == SnapshotCommitted.topic {
                committed = true
                break
            }
        }
        #expect(committed)
        #expect(!progress.isEmpty)
        #expect(progress.allSatisfy { $0.requestID == id && $0.totalBytes == text.utf8.count })
        #expect(progress.first!.rowsImported > 0 && progress.first!.rowsImported <= 20_000)
    }

    @Test func exportWritesOnlyWhatTheCallerMayRead() async throws {
        let s = try Setup("bus-export")
        let out = FilePath.join(s.dir, "people.csv")
        let erin = Principal(.user, "erin")
        let result = try await s.bus.send(LakehouseExport(table: "sales.people", path: out), as: erin)
        #expect(result.rows == 2 && result.format == "csv")
        let text = try FileIO.readText(out)
        #expect(text.hasPrefix("id,name,email,region,born\n"), "\(text)")
        #expect(!text.contains("bob") && !text.contains("150000"))
        #expect(try s.audited("lakehouse:export", by: "erin") == [true])

        // ivan holds no lakehouse:export: refused, and no file appears.
        let refused = FilePath.join(s.dir, "ivan.csv")
        await #expect {
            _ = try await s.bus.send(LakehouseExport(table: "sales.people", path: refused), as: Principal(.user, "ivan"))
        } throws: { error in
            (error as? BusError)?.code == .denied
        }
        #expect(!FileIO.exists(refused))

        // erin may export, but not a table she cannot read: the gate refuses, and no file appears.
        await #expect {
            _ = try await s.bus.send(LakehouseExport(table: "sales.open", path: refused), as: erin)
        } throws: { error in
            (error as? LakehouseError)?.code == .denied
        }
        #expect(!FileIO.exists(refused))
    }

    @Test func requestsRoundTripThroughTheirJSONForm() throws {
        let request = LakehouseImport(path: "/d/x.csv", table: "a.b", format: "csv", sourceTable: nil, skipBadRows: 3, header: false, sampleRows: 50)
        let back = try LakehouseImport(json: request.jsonValue)
        #expect(back.jsonValue == request.jsonValue)
        let export = LakehouseExport(table: "a.b", path: "/d/y.jsonl", format: "jsonl")
        #expect(try LakehouseExport(json: export.jsonValue).jsonValue == export.jsonValue)
        let progress = ImportProgressed(requestID: "r", bytesRead: 10, totalBytes: 20, rowsImported: 3)
        #expect(try ImportProgressed(json: progress.jsonValue) == progress)
    }
}
