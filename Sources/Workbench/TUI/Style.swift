/// A terminal colour: the terminal's default, one of the 16 ANSI colours, the 256-colour palette, or 24-bit RGB.
public enum Color: Hashable, Sendable {
    /// The terminal's own foreground or background colour.
    case `default`
    /// One of the 16 ANSI colours (0-7 normal, 8-15 bright).
    case ansi(UInt8)
    /// An entry of the xterm 256-colour palette.
    case indexed(UInt8)
    /// A 24-bit colour.
    case rgb(UInt8, UInt8, UInt8)

    /// ANSI black.
    public static let black = Color.ansi(0)
    /// ANSI red.
    public static let red = Color.ansi(1)
    /// ANSI green.
    public static let green = Color.ansi(2)
    /// ANSI yellow.
    public static let yellow = Color.ansi(3)
    /// ANSI blue.
    public static let blue = Color.ansi(4)
    /// ANSI magenta.
    public static let magenta = Color.ansi(5)
    /// ANSI cyan.
    public static let cyan = Color.ansi(6)
    /// ANSI white (light grey on most terminals).
    public static let white = Color.ansi(7)
}

/// Text attributes a terminal can show.
public struct Attributes: OptionSet, Hashable, Sendable {
    /// The bits.
    public let rawValue: UInt8
    /// Creates attributes from their bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Bold (or bright) text.
    public static let bold = Attributes(rawValue: 1 << 0)
    /// Dim (faint) text.
    public static let dim = Attributes(rawValue: 1 << 1)
    /// Italic text.
    public static let italic = Attributes(rawValue: 1 << 2)
    /// Underlined text.
    public static let underline = Attributes(rawValue: 1 << 3)
    /// Foreground and background swapped.
    public static let reverse = Attributes(rawValue: 1 << 4)
}

/// How a cell looks: colours and attributes.
public struct Style: Hashable, Sendable {
    /// Foreground colour.
    public var foreground: Color
    /// Background colour.
    public var background: Color
    /// Bold, italic and the like.
    public var attributes: Attributes

    /// Creates a style; everything defaults to the terminal's own look.
    public init(foreground: Color = .default, background: Color = .default, attributes: Attributes = []) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }

    /// The terminal's default colours, no attributes.
    public static let plain = Style()
}

/// How many colours a terminal can show, from `NO_COLOR` up to 24-bit.
public enum ColorDepth: Int, Comparable, Sendable {
    /// No colours at all (`NO_COLOR`, or a monochrome terminal); attributes still apply.
    case none = 0
    /// The 16 ANSI colours.
    case ansi16 = 16
    /// The xterm 256-colour palette.
    case palette256 = 256
    /// 24-bit colour.
    case trueColor = 16_777_216

    /// Orders depths by how many colours they show.
    public static func < (a: ColorDepth, b: ColorDepth) -> Bool { a.rawValue < b.rawValue }
}

extension Color {
    /// The nearest colour a terminal with `depth` can show.
    public func reduced(to depth: ColorDepth) -> Color {
        switch (self, depth) {
        case (.default, _): return .default
        case (_, .none): return .default
        case (.ansi(let n), _): return .ansi(n & 15)
        case (.indexed(let n), .ansi16): return n < 16 ? .ansi(n) : .ansi(Palette.nearestANSI(Palette.rgb(of: n)))
        case (.indexed(let n), _): return n < 16 ? .ansi(n) : .indexed(n)
        case (.rgb(let r, let g, let b), .ansi16): return .ansi(Palette.nearestANSI((r, g, b)))
        case (.rgb(let r, let g, let b), .palette256): return .indexed(Palette.nearest256((r, g, b)))
        case (.rgb, .trueColor): return self
        }
    }
}

extension Style {
    /// This style as a terminal with `depth` can show it.
    public func reduced(to depth: ColorDepth) -> Style {
        Style(foreground: foreground.reduced(to: depth), background: background.reduced(to: depth), attributes: attributes)
    }
}

/// The xterm palette, for mapping colours down to what a terminal can show.
enum Palette {
    typealias RGB = (UInt8, UInt8, UInt8)

    /// xterm's default values for the 16 ANSI colours.
    static let ansi: [RGB] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255),
        (255, 255, 255),
    ]

    /// The six levels of each channel in the 6x6x6 colour cube (indices 16-231).
    static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The RGB value of a 256-palette index.
    static func rgb(of index: UInt8) -> RGB {
        let n = Int(index)
        if n < 16 { return ansi[n] }
        if n < 232 {
            let c = n - 16
            return (UInt8(cubeLevels[c / 36]), UInt8(cubeLevels[(c / 6) % 6]), UInt8(cubeLevels[c % 6]))
        }
        let grey = UInt8(8 + (n - 232) * 10)
        return (grey, grey, grey)
    }

    static func distance(_ a: RGB, _ b: RGB) -> Int {
        let dr = Int(a.0) - Int(b.0), dg = Int(a.1) - Int(b.1), db = Int(a.2) - Int(b.2)
        return dr * dr + dg * dg + db * db
    }

    /// The ANSI colour (0-15) closest to `color`.
    static func nearestANSI(_ color: RGB) -> UInt8 {
        var best = 0
        for i in 1..<16 where distance(ansi[i], color) < distance(ansi[best], color) { best = i }
        return UInt8(best)
    }

    /// The cube or grey-ramp entry (16-255) closest to `color`.
    static func nearest256(_ color: RGB) -> UInt8 {
        func level(_ v: UInt8) -> Int {
            var best = 0
            for i in 1..<6 where abs(cubeLevels[i] - Int(v)) < abs(cubeLevels[best] - Int(v)) { best = i }
            return best
        }
        let cube = 16 + 36 * level(color.0) + 6 * level(color.1) + level(color.2)
        let average = (Int(color.0) + Int(color.1) + Int(color.2)) / 3
        let greyStep = min(23, max(0, (average - 3) / 10))
        let grey = 232 + greyStep
        let cubeIndex = UInt8(cube), greyIndex = UInt8(grey)
        return distance(rgb(of: greyIndex), color) < distance(rgb(of: cubeIndex), color) ? greyIndex : cubeIndex
    }
}

/// A piece of text in one style, optionally a hyperlink.
public struct Span: Hashable, Sendable {
    /// The text, without control characters.
    public var text: String
    /// How the text looks.
    public var style: Style
    /// The target of a hyperlink around the text (only `http` and `https` survive sanitizing).
    public var link: String?

    /// Creates a span.
    public init(_ text: String, style: Style = .plain, link: String? = nil) {
        self.text = text
        self.style = style
        self.link = link
    }
}
