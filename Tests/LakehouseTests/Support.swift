import Catalog
import CoreSupport
import Lakehouse
import Storage
import TestSupport
import Testing

/// A fresh domain with a lakehouse, in a scratch folder.
struct Fixture {
    let home: String
    let domain: Domain
    let lakehouse: Lakehouse

    init(_ name: String = "lakehouse") throws {
        home = try Scratch.directory(name)
        domain = try Domain.open(at: home)
        lakehouse = try Lakehouse(domain: domain)
    }

    /// Runs SQL and returns every row of the last statement.
    @discardableResult
    func rows(_ sql: String, asOf: AsOf? = nil) throws -> [[DatabaseValue]] {
        var rows: [[DatabaseValue]] = []
        _ = try lakehouse.execute(sql, context: QueryContext(asOf: asOf), sink: QuerySink { rows.append($0); return true })
        return rows
    }

    /// Runs SQL that writes; returns what it did.
    @discardableResult
    func run(_ sql: String) throws -> QueryOutcome {
        try lakehouse.execute(sql)
    }

    /// The single value of a one-row, one-column query.
    func value(_ sql: String, asOf: AsOf? = nil) throws -> DatabaseValue? {
        try rows(sql, asOf: asOf).first?.first
    }
}
