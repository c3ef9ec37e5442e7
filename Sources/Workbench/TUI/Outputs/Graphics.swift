/// A terminal graphics protocol that can show images.
public enum GraphicsProtocol: String, Hashable, Sendable, CaseIterable {
    /// kitty's graphics protocol (kitty, Ghostty, WezTerm): the PNG is sent as it is.
    case kitty
    /// DEC sixel (foot, mlterm, xterm -ti vt340, contour): the PNG is decoded, scaled and quantized.
    case sixel
}

/// How image outputs are laid out: as a one-line placeholder, or as pictures a number of cells high.
public struct ImageLayout: Hashable, Sendable {
    /// The protocol images are drawn with; nil shows placeholders.
    public var graphics: GraphicsProtocol?
    /// A cell's size in pixels (for sizing images in cells).
    public var cellWidth: Int
    /// A cell's height in pixels.
    public var cellHeight: Int
    /// The most rows an image takes; a taller one is scaled down.
    public var maxRows: Int

    /// The cell size assumed when the terminal does not report its own.
    public static let defaultCell = Size(width: 10, height: 20)

    /// Creates a layout.
    public init(graphics: GraphicsProtocol?, cellWidth: Int = 10, cellHeight: Int = 20, maxRows: Int = 20) {
        self.graphics = graphics
        self.cellWidth = max(1, cellWidth)
        self.cellHeight = max(1, cellHeight)
        self.maxRows = max(1, maxRows)
    }

    /// Placeholders only: what terminals without graphics (and tmux) get.
    public static let placeholders = ImageLayout(graphics: nil)

    /// The layout for a terminal described by `environment`, whose cells measure `cellPixels` when known.
    ///
    /// `WB_GRAPHICS=kitty|sixel|none` decides outright. Otherwise: none inside tmux or screen
    /// (they do not pass images through); kitty when `KITTY_WINDOW_ID` is set, `TERM` is
    /// `xterm-kitty` or `xterm-ghostty`, or `TERM_PROGRAM` is `ghostty` or `WezTerm`; sixel when
    /// `TERM` is `foot`, `mlterm`, `contour` or `yaft`; none for everything else.
    public static func detect(environment: [String: String], cellPixels: Size? = nil) -> ImageLayout {
        let cell = cellPixels.flatMap { $0.width > 0 && $0.height > 0 ? $0 : nil } ?? defaultCell
        func layout(_ graphics: GraphicsProtocol?) -> ImageLayout {
            ImageLayout(graphics: graphics, cellWidth: cell.width, cellHeight: cell.height)
        }
        func value(_ key: String) -> String { environment[key] ?? "" }
        switch value("WB_GRAPHICS").lowercased() {
        case "kitty": return layout(.kitty)
        case "sixel": return layout(.sixel)
        case "none", "off", "0": return layout(nil)
        default: break
        }
        let term = value("TERM")
        if !value("TMUX").isEmpty || term.hasPrefix("screen") || term.hasPrefix("tmux") { return layout(nil) }
        if !value("KITTY_WINDOW_ID").isEmpty || term == "xterm-kitty" || term == "xterm-ghostty"
            || ["ghostty", "WezTerm"].contains(value("TERM_PROGRAM"))
        {
            return layout(.kitty)
        }
        if ["foot", "foot-extra", "mlterm", "contour", "yaft-256color"].contains(term) { return layout(.sixel) }
        return layout(nil)
    }

    /// The cells an image of `pixelWidth` by `pixelHeight` takes when at most `maxColumns` wide:
    /// its natural size in cells, scaled down (never up) to fit `maxRows` and `maxColumns`.
    public func box(pixelWidth: Int, pixelHeight: Int, maxColumns: Int = 1000) -> Size {
        guard pixelWidth > 0, pixelHeight > 0, maxColumns > 0 else { return Size(width: 0, height: 0) }
        let scale = min(1.0, Double(maxRows * cellHeight) / Double(pixelHeight), Double(maxColumns * cellWidth) / Double(pixelWidth))
        let columns = Int((Double(pixelWidth) * scale / Double(cellWidth)).rounded(.up))
        let rows = Int((Double(pixelHeight) * scale / Double(cellHeight)).rounded(.up))
        return Size(width: min(maxColumns, max(1, columns)), height: min(maxRows, max(1, rows)))
    }

    /// The rows an image output takes: one for a placeholder, its box's height when drawn.
    func rows(for image: TerminalImage) -> Int {
        rows(pixelWidth: image.pixelWidth, pixelHeight: image.pixelHeight)
    }

    /// The rows an image of this many pixels takes: one for a placeholder, its box's height when drawn.
    func rows(pixelWidth: Int, pixelHeight: Int) -> Int {
        guard graphics != nil else { return 1 }
        return box(pixelWidth: pixelWidth, pixelHeight: pixelHeight).height
    }
}

/// A PNG to show in the terminal, identified by its content.
public struct TerminalImage: Hashable, Sendable {
    /// A number for the image, the same for the same bytes (the kitty image id); never 0.
    public let id: UInt32
    /// The PNG file's bytes.
    public let png: [UInt8]
    /// Its width in pixels, from the PNG header.
    public let pixelWidth: Int
    /// Its height in pixels.
    public let pixelHeight: Int

    /// The image in `png`, or nil when the bytes do not start with a PNG signature and header.
    public init?(png: [UInt8]) {
        guard let size = Self.pngSize(png) else { return nil }
        self.png = png
        self.pixelWidth = size.width
        self.pixelHeight = size.height
        // FNV-1a over the bytes, folded to 31 bits so ids stay positive and small enough for every terminal.
        var hash: UInt32 = 2_166_136_261
        for byte in png {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        self.id = (hash & 0x7FFF_FFFF) == 0 ? 1 : hash & 0x7FFF_FFFF
    }

    /// The image a notebook stores as base64 text, or nil when it is not a PNG.
    public init?(base64: String) {
        self.init(png: Base64.decodePrefix(base64, count: Int.max))
    }

    /// Width and height of the PNG a notebook stores as base64 text, read from its header alone (the picture is not decoded).
    static func pngSize(base64: String) -> Size? {
        pngSize(Base64.decodePrefix(base64, count: 24))
    }

    /// Width and height from a PNG's IHDR chunk, or nil when `bytes` is not a PNG.
    static func pngSize(_ bytes: [UInt8]) -> Size? {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 24, Array(bytes[0..<8]) == signature, Array(bytes[12..<16]) == Array("IHDR".utf8) else { return nil }
        func int(_ at: Int) -> Int { Int(bytes[at..<(at + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
        let width = int(16), height = int(20)
        guard width > 0, height > 0, width < 1 << 24, height < 1 << 24 else { return nil }
        return Size(width: width, height: height)
    }

    /// The label shown instead of (or under) the picture: `[image/png 640x480]`.
    var label: String { "[image/png \(pixelWidth)x\(pixelHeight)]" }
}

/// An image shown over a rectangle of screen cells, whole or a band of its rows.
public struct GraphicPlacement: Hashable, Sendable {
    /// The image.
    public var image: TerminalImage
    /// The cells it covers, which must lie inside the screen.
    public var rect: Rect
    /// The rows the whole picture takes; more than `rect.height` when part of it is scrolled out of view.
    public var pictureRows: Int
    /// The first of the picture's rows that shows at `rect`'s top.
    public var firstRow: Int

    /// A placement of `image` at `rect`: the whole picture, or with `pictureRows` and `firstRow`, the band of it that is in view.
    public init(image: TerminalImage, rect: Rect, pictureRows: Int? = nil, firstRow: Int = 0) {
        self.image = image
        self.rect = rect
        self.firstRow = max(0, firstRow)
        self.pictureRows = max(rect.height + self.firstRow, pictureRows ?? rect.height)
    }

    /// Whether only part of the picture shows.
    public var isCropped: Bool { firstRow > 0 || rect.height < pictureRows }
}
