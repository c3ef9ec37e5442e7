internal import CSQLite3

/// The shared storage core: SQLite stores in the domain directory.
public enum StorageModule {
    /// The SQLite library version this build links against.
    public static var sqliteVersion: String { String(cString: sqlite3_libversion()) }
}
