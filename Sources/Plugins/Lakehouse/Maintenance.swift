import Catalog
import CoreSupport
import Storage

extension SQLiteEngine {
    public func expireSnapshots(of name: TableName, policy: RetentionPolicy, context: QueryContext) throws -> MaintenanceOutcome {
        throw LakehouseError(.unsupported, "expire is not implemented yet")
    }

    public func compact(_ name: TableName, context: QueryContext) throws -> MaintenanceOutcome {
        throw LakehouseError(.unsupported, "compact is not implemented yet")
    }
}
