internal import CSQLite3

/// A table whose rows Swift code produces: SQLite reads it through a virtual table module.
///
/// The table is made by the module's factory when a statement runs
/// `CREATE VIRTUAL TABLE schema.name USING module(arguments)`, and lives until the
/// table is dropped or its schema detached. It is used only on the connection's thread.
public protocol VirtualTable: AnyObject {
    /// The columns SQLite sees, as `CREATE TABLE x("a" INTEGER, "b" TEXT)` (the table name is ignored).
    var declaration: String { get }
    /// About how many rows a full scan returns (the planner's cost estimate).
    var estimatedRows: Int64 { get }
    /// A new cursor over the rows; several may be open at once (a self-join).
    func makeCursor() throws -> any VirtualTableCursor
}

/// A position in a virtual table's rows: started, advanced, read column by column.
public protocol VirtualTableCursor: AnyObject {
    /// Moves to the first row (again, when SQLite restarts the scan).
    func start() throws
    /// Moves to the next row.
    func next() throws
    /// Whether the cursor is past the last row.
    var atEnd: Bool { get }
    /// A number unique to the current row within the scan.
    var rowID: Int64 { get }
    /// Hands column `index` of the current row to SQLite.
    func column(_ index: Int, _ result: VirtualTableResult)
}

/// Where a cursor puts one column's value (valid only during `column`).
public struct VirtualTableResult {
    let context: OpaquePointer?

    public func setNull() { sqlite3_result_null(context) }
    public func set(_ value: Int64) { sqlite3_result_int64(context, value) }
    public func set(_ value: Double) { sqlite3_result_double(context, value) }

    /// A copy of UTF-8 text.
    public func setText(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= Int(Int32.max) else { return sqlite3_result_error_toobig(context) }
        wb_sqlite3_result_text(context, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
    }

    /// A copy of a blob.
    public func setBlob(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= Int(Int32.max) else { return sqlite3_result_error_toobig(context) }
        wb_sqlite3_result_blob(context, bytes.baseAddress, Int32(bytes.count))
    }
}

/// Makes a table from the module arguments: the raw text of each argument of `USING module(...)`,
/// quotes included (see `VirtualTableArguments.unquoted`).
public typealias VirtualTableFactory = ([String]) throws -> any VirtualTable

/// Helpers for module arguments.
public enum VirtualTableArguments {
    /// An argument written as an SQL string literal (`'it''s'`), unquoted; other text trimmed, as it is.
    public static func unquoted(_ argument: String) -> String {
        var text = Substring(argument)
        while text.first == " " || text.first == "\n" { text = text.dropFirst() }
        while text.last == " " || text.last == "\n" { text = text.dropLast() }
        guard text.count >= 2, text.first == "'", text.last == "'" else { return String(text) }
        var out = ""
        var quote = false
        for character in text.dropFirst().dropLast() {
            if character == "'" {
                quote.toggle()
                if !quote { continue }  // the second of a doubled quote
            } else {
                quote = false
            }
            out.append(character)
        }
        return out
    }

    /// `text` as an SQL string literal, for writing a module argument.
    public static func quoted(_ text: String) -> String {
        var out = "'"
        for character in text {
            if character == "'" { out.append("'") }
            out.append(character)
        }
        return out + "'"
    }
}

extension Database {
    /// Registers a virtual table module on this connection; tables are made by `factory`.
    ///
    /// The module has no eponymous table: a table exists only once `CREATE VIRTUAL TABLE` made it,
    /// so SQL cannot call the module as a table-valued function.
    public func registerVirtualTableModule(_ name: String, _ factory: @escaping VirtualTableFactory) throws(DatabaseError) {
        guard let handle else { throw misuse("the connection is closed", sql: nil) }
        let box = Unmanaged.passRetained(ModuleBox(factory)).toOpaque()
        // On failure SQLite calls the destructor itself, which releases the box.
        let rc = sqlite3_create_module_v2(handle, name, moduleDefinition, box, moduleDestructor)
        try check(rc)
    }
}

private final class ModuleBox {
    let factory: VirtualTableFactory
    init(_ factory: @escaping VirtualTableFactory) { self.factory = factory }
}

private final class CursorBox {
    let cursor: any VirtualTableCursor
    init(_ cursor: any VirtualTableCursor) { self.cursor = cursor }
}

private final class TableBox {
    let table: any VirtualTable
    init(_ table: any VirtualTable) { self.table = table }
}

// SQLite's vtab and cursor structs are allocated here with room for one pointer after them: the
// Swift object (retained) that serves them.
private let vtabSize = MemoryLayout<sqlite3_vtab>.stride
private let cursorSize = MemoryLayout<sqlite3_vtab_cursor>.stride

private func object<T: AnyObject>(after base: UnsafeMutableRawPointer, size: Int, as type: T.Type) -> T {
    let raw = base.load(fromByteOffset: size, as: UnsafeMutableRawPointer.self)
    return Unmanaged<T>.fromOpaque(raw).takeUnretainedValue()
}

/// A copy of `message` in memory SQLite owns (it frees error messages itself).
private func sqliteString(_ message: String) -> UnsafeMutablePointer<CChar>? {
    let bytes = Array(message.utf8)
    guard let raw = sqlite3_malloc(Int32(bytes.count + 1)) else { return nil }
    let out = raw.assumingMemoryBound(to: CChar.self)
    for (i, b) in bytes.enumerated() { out[i] = CChar(bitPattern: b) }
    out[bytes.count] = 0
    return out
}

private func describe(_ error: any Error) -> String {
    (error as? DatabaseError)?.message ?? "\(error)"
}

private func setError(_ vtab: UnsafeMutablePointer<sqlite3_vtab>?, _ error: any Error) -> Int32 {
    guard let vtab else { return SQLITE_ERROR }
    if let old = vtab.pointee.zErrMsg { sqlite3_free(old) }
    vtab.pointee.zErrMsg = sqliteString(describe(error))
    return SQLITE_ERROR
}

private let moduleDestructor: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    guard let raw else { return }
    Unmanaged<ModuleBox>.fromOpaque(raw).release()
}

private typealias ConnectFunction = @convention(c) (
    OpaquePointer?, UnsafeMutableRawPointer?, Int32, UnsafePointer<UnsafePointer<CChar>?>?,
    UnsafeMutablePointer<UnsafeMutablePointer<sqlite3_vtab>?>?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32

private func connect(
    _ db: OpaquePointer?, _ aux: UnsafeMutableRawPointer?, _ argc: Int32, _ argv: UnsafePointer<UnsafePointer<CChar>?>?,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<sqlite3_vtab>?>?, _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guard let aux, let argv, let out else { return SQLITE_MISUSE }
    let module = Unmanaged<ModuleBox>.fromOpaque(aux).takeUnretainedValue()
    // argv[0] module name, [1] schema, [2] table name, then the arguments.
    let arguments = (3..<Int(max(argc, 3))).map { argv[$0].map { String(cString: $0) } ?? "" }
    let table: any VirtualTable
    do {
        table = try module.factory(arguments)
        let rc = sqlite3_declare_vtab(db, table.declaration)
        guard rc == SQLITE_OK else {
            error?.pointee = sqliteString("cannot declare the virtual table as \(table.declaration): \(String(cString: sqlite3_errmsg(db)))")
            return rc
        }
    } catch let failure {
        error?.pointee = sqliteString(describe(failure))
        return SQLITE_ERROR
    }
    let memory = UnsafeMutableRawPointer.allocate(byteCount: vtabSize + MemoryLayout<UnsafeMutableRawPointer>.size, alignment: 8)
    let vtab = memory.bindMemory(to: sqlite3_vtab.self, capacity: 1)
    vtab.initialize(to: sqlite3_vtab())
    memory.storeBytes(of: Unmanaged.passRetained(TableBox(table)).toOpaque(), toByteOffset: vtabSize, as: UnsafeMutableRawPointer.self)
    out.pointee = vtab
    return SQLITE_OK
}

// xCreate and xConnect differ (though they do the same), so the module has no eponymous table.
private let createTable: ConnectFunction = { connect($0, $1, $2, $3, $4, $5) }
private let connectTable: ConnectFunction = { connect($0, $1, $2, $3, $4, $5) }

private let disconnectTable: @convention(c) (UnsafeMutablePointer<sqlite3_vtab>?) -> Int32 = { vtab in
    guard let vtab else { return SQLITE_OK }
    let memory = UnsafeMutableRawPointer(vtab)
    Unmanaged<TableBox>.fromOpaque(memory.load(fromByteOffset: vtabSize, as: UnsafeMutableRawPointer.self)).release()
    if let message = vtab.pointee.zErrMsg { sqlite3_free(message) }
    vtab.deinitialize(count: 1)
    memory.deallocate()
    return SQLITE_OK
}

private let bestIndex: @convention(c) (UnsafeMutablePointer<sqlite3_vtab>?, UnsafeMutablePointer<sqlite3_index_info>?) -> Int32 = {
    vtab, info in
    guard let vtab, let info else { return SQLITE_MISUSE }
    let table = object(after: UnsafeMutableRawPointer(vtab), size: vtabSize, as: TableBox.self).table
    // A full scan every time: SQLite checks every constraint itself. Costly, so the planner puts
    // the scan in an outer loop rather than repeat it for each row of another table.
    let rows = max(1, table.estimatedRows)
    info.pointee.estimatedRows = rows
    info.pointee.estimatedCost = Double(rows) * 10
    return SQLITE_OK
}

private let openCursor: @convention(c) (UnsafeMutablePointer<sqlite3_vtab>?, UnsafeMutablePointer<UnsafeMutablePointer<sqlite3_vtab_cursor>?>?)
    -> Int32 = { vtab, out in
        guard let vtab, let out else { return SQLITE_MISUSE }
        let table = object(after: UnsafeMutableRawPointer(vtab), size: vtabSize, as: TableBox.self).table
        let cursor: any VirtualTableCursor
        do { cursor = try table.makeCursor() } catch { return setError(vtab, error) }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: cursorSize + MemoryLayout<UnsafeMutableRawPointer>.size, alignment: 8)
        let base = memory.bindMemory(to: sqlite3_vtab_cursor.self, capacity: 1)
        base.initialize(to: sqlite3_vtab_cursor())
        memory.storeBytes(of: Unmanaged.passRetained(CursorBox(cursor)).toOpaque(), toByteOffset: cursorSize, as: UnsafeMutableRawPointer.self)
        out.pointee = base
        return SQLITE_OK
    }

private func cursor(_ base: UnsafeMutablePointer<sqlite3_vtab_cursor>) -> any VirtualTableCursor {
    object(after: UnsafeMutableRawPointer(base), size: cursorSize, as: CursorBox.self).cursor
}

private let closeCursor: @convention(c) (UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> Int32 = { base in
    guard let base else { return SQLITE_OK }
    let memory = UnsafeMutableRawPointer(base)
    Unmanaged<CursorBox>.fromOpaque(memory.load(fromByteOffset: cursorSize, as: UnsafeMutableRawPointer.self)).release()
    base.deinitialize(count: 1)
    memory.deallocate()
    return SQLITE_OK
}

private let filter: @convention(c) (
    UnsafeMutablePointer<sqlite3_vtab_cursor>?, Int32, UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 = { base, _, _, _, _ in
    guard let base else { return SQLITE_MISUSE }
    do { try cursor(base).start() } catch { return setError(base.pointee.pVtab, error) }
    return SQLITE_OK
}

private let next: @convention(c) (UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> Int32 = { base in
    guard let base else { return SQLITE_MISUSE }
    do { try cursor(base).next() } catch { return setError(base.pointee.pVtab, error) }
    return SQLITE_OK
}

private let eof: @convention(c) (UnsafeMutablePointer<sqlite3_vtab_cursor>?) -> Int32 = { base in
    guard let base else { return 1 }
    return cursor(base).atEnd ? 1 : 0
}

private let column: @convention(c) (UnsafeMutablePointer<sqlite3_vtab_cursor>?, OpaquePointer?, Int32) -> Int32 = { base, context, index in
    guard let base else { return SQLITE_MISUSE }
    cursor(base).column(Int(index), VirtualTableResult(context: context))
    return SQLITE_OK
}

private let rowID: @convention(c) (UnsafeMutablePointer<sqlite3_vtab_cursor>?, UnsafeMutablePointer<sqlite3_int64>?) -> Int32 = { base, out in
    guard let base, let out else { return SQLITE_MISUSE }
    out.pointee = cursor(base).rowID
    return SQLITE_OK
}

/// The module's function table; SQLite keeps a pointer to it for the connection's life.
nonisolated(unsafe) private let moduleDefinition: UnsafeMutablePointer<sqlite3_module> = {
    let module = UnsafeMutablePointer<sqlite3_module>.allocate(capacity: 1)
    var m = sqlite3_module()
    m.iVersion = 1
    m.xCreate = createTable
    m.xConnect = connectTable
    m.xBestIndex = bestIndex
    m.xDisconnect = disconnectTable
    m.xDestroy = disconnectTable
    m.xOpen = openCursor
    m.xClose = closeCursor
    m.xFilter = filter
    m.xNext = next
    m.xEof = eof
    m.xColumn = column
    m.xRowid = rowID
    module.initialize(to: m)
    return module
}()
