@preconcurrency internal import CPNG
#if canImport(Glibc)
internal import Glibc
#endif

/// Pixels decoded from a PNG: 8-bit RGBA, rows top to bottom.
struct RGBAImage: Hashable, Sendable {
    /// Width in pixels.
    var width: Int
    /// Height in pixels.
    var height: Int
    /// `width * height * 4` bytes.
    var pixels: [UInt8]

    /// Why a PNG could not be decoded.
    struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
        /// libpng's reason.
        var message: String
        /// The reason.
        var description: String { "cannot decode the PNG: \(message)" }
    }

    /// The most pixels decoded (a 8192 x 8192 picture); bigger ones stay placeholders.
    static let maxPixels = 8192 * 8192

    /// Decodes `png` with libpng.
    init(png: [UInt8]) throws(DecodeError) {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: UInt32 = 0, height: UInt32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let rc = png.withUnsafeBufferPointer { data in
            wb_png_decode_rgba(data.baseAddress, data.count, Self.maxPixels, &pixels, &width, &height, &message, message.count)
        }
        guard rc == 0, let pixels else {
            throw DecodeError(message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { free(pixels) }
        self.width = Int(width)
        self.height = Int(height)
        self.pixels = Array(UnsafeBufferPointer(start: pixels, count: Int(width) * Int(height) * 4))
    }

    init(width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The image scaled to `width` by `height`: each target pixel averages the source pixels it covers.
    func scaled(width targetWidth: Int, height targetHeight: Int) -> RGBAImage {
        guard targetWidth != width || targetHeight != height else { return self }
        let tw = max(1, targetWidth), th = max(1, targetHeight)
        var out = [UInt8](repeating: 0, count: tw * th * 4)
        for ty in 0..<th {
            let y0 = ty * height / th, y1 = max(y0 + 1, (ty + 1) * height / th)
            for tx in 0..<tw {
                let x0 = tx * width / tw, x1 = max(x0 + 1, (tx + 1) * width / tw)
                var sum = (0, 0, 0, 0)
                for y in y0..<min(y1, height) {
                    for x in x0..<min(x1, width) {
                        let i = (y * width + x) * 4
                        sum.0 += Int(pixels[i]); sum.1 += Int(pixels[i + 1]); sum.2 += Int(pixels[i + 2]); sum.3 += Int(pixels[i + 3])
                    }
                }
                let n = max(1, (min(y1, height) - y0) * (min(x1, width) - x0))
                let o = (ty * tw + tx) * 4
                out[o] = UInt8(sum.0 / n); out[o + 1] = UInt8(sum.1 / n); out[o + 2] = UInt8(sum.2 / n); out[o + 3] = UInt8(sum.3 / n)
            }
        }
        return RGBAImage(width: tw, height: th, pixels: out)
    }
}

/// The bytes that show images on a terminal: kitty graphics commands and sixel pictures.
///
/// Every placement is wrapped in save-cursor, a move to its top-left cell, and restore-cursor, so
/// the curses library's idea of the cursor stays true. Pure functions of their input, so tests can
/// check them byte for byte.
enum GraphicsEncoder {
    /// Base64 characters per kitty chunk (the protocol's limit is 4096).
    static let kittyChunk = 4096

    /// The kitty placement id for an image at `rect`: one placement per top-left cell.
    static func placementID(_ rect: Rect) -> UInt32 {
        UInt32(truncatingIfNeeded: (rect.y & 0xFFFF) << 12 | (rect.x & 0xFFF)) + 1
    }

    /// Save the cursor, move to `x`, `y` (zero-based), then `body`, then restore the cursor.
    static func atCell(x: Int, y: Int, _ body: [UInt8]) -> [UInt8] {
        Array("\u{1B}7\u{1B}[\(y + 1);\(x + 1)H".utf8) + body + Array("\u{1B}8".utf8)
    }

    /// Shows `placement` with kitty's protocol: the PNG goes over as it is (`f=100`), sent in chunks unless the
    /// terminal already has it (`transmit` false), scaled into the placement's cells; `C=1` keeps the cursor still.
    /// A band of the picture shows as the source rectangle (`x,y,w,h` in pixels) of those rows.
    static func kitty(_ placement: GraphicPlacement, transmit: Bool) -> [UInt8] {
        let image = placement.image
        let rect = placement.rect
        var source = ""
        if placement.isCropped {
            let top = placement.firstRow * image.pixelHeight / placement.pictureRows
            let bottom = min(image.pixelHeight, (placement.firstRow + rect.height) * image.pixelHeight / placement.pictureRows)
            source = "x=0,y=\(top),w=\(image.pixelWidth),h=\(max(1, bottom - top)),"
        }
        let keys = "i=\(image.id),p=\(placementID(rect)),\(source)c=\(rect.width),r=\(rect.height),C=1,q=2"
        var body: [UInt8] = []
        if transmit {
            let encoded = Base64.encode(image.png)
            var start = 0
            repeat {
                let end = min(encoded.count, start + kittyChunk)
                let more = end < encoded.count
                let control: String
                if start == 0 {
                    control = "a=T,f=100,t=d,\(keys)" + (more ? ",m=1" : "")
                } else {
                    control = more ? "m=1" : "m=0"
                }
                body += Array("\u{1B}_G\(control);".utf8) + encoded[start..<end] + Array("\u{1B}\\".utf8)
                start = end
            } while start < encoded.count
        } else {
            body = Array("\u{1B}_Ga=p,\(keys)\u{1B}\\".utf8)
        }
        return atCell(x: rect.x, y: rect.y, body)
    }

    /// Removes `placement`'s picture (the terminal keeps the image data for a later `a=p`).
    static func kittyDelete(_ placement: GraphicPlacement) -> [UInt8] {
        Array("\u{1B}_Ga=d,d=i,i=\(placement.image.id),p=\(placementID(placement.rect)),q=2\u{1B}\\".utf8)
    }

    /// Removes every picture; with `freeData`, the image data too (when giving the terminal back).
    static func kittyDeleteAll(freeData: Bool) -> [UInt8] {
        Array("\u{1B}_Ga=d,d=\(freeData ? "A" : "a"),q=2\u{1B}\\".utf8)
    }

    /// Shows `placement` as a sixel picture: decoded, scaled (never up) to fit its cells, at most 256 colours.
    /// A band of the picture (`firstRow` on) shows only the pixel rows of those cells.
    static func sixel(_ placement: GraphicPlacement, cellWidth: Int, cellHeight: Int) throws(RGBAImage.DecodeError) -> [UInt8] {
        let pixels = try fitted(
            placement.image, columns: placement.rect.width, rows: placement.pictureRows, cellWidth: cellWidth, cellHeight: cellHeight)
        return sixel(band(of: pixels, placement, cellHeight: cellHeight), at: placement)
    }

    /// The sixel picture of `pixels` at `placement`'s top-left cell.
    static func sixel(_ pixels: RGBAImage, at placement: GraphicPlacement) -> [UInt8] {
        atCell(x: placement.rect.x, y: placement.rect.y, sixel(pixels))
    }

    /// `image` decoded and fitted (never enlarged) into `columns` by `rows` cells of the given pixel size.
    static func fitted(_ image: TerminalImage, columns: Int, rows: Int, cellWidth: Int, cellHeight: Int) throws(RGBAImage.DecodeError) -> RGBAImage {
        let decoded = try RGBAImage(png: image.png)
        let scale = min(1.0, Double(columns * cellWidth) / Double(decoded.width), Double(rows * cellHeight) / Double(decoded.height))
        return decoded.scaled(width: max(1, Int(Double(decoded.width) * scale)), height: max(1, Int(Double(decoded.height) * scale)))
    }

    /// The pixel rows of `pixels` under the cells `placement` shows (all of them when it is not cropped).
    static func band(of pixels: RGBAImage, _ placement: GraphicPlacement, cellHeight: Int) -> RGBAImage {
        guard placement.isCropped else { return pixels }
        let top = min(pixels.height, placement.firstRow * cellHeight)
        let bottom = min(pixels.height, (placement.firstRow + placement.rect.height) * cellHeight)
        guard bottom > top else { return RGBAImage(width: pixels.width, height: 0, pixels: []) }
        return RGBAImage(width: pixels.width, height: bottom - top, pixels: Array(pixels.pixels[(top * pixels.width * 4)..<(bottom * pixels.width * 4)]))
    }

    /// A sixel picture of `image`: a DCS string with raster attributes, a palette, and run-length coded bands
    /// of six pixel rows. Pixels less than half opaque are left unpainted (P2=1 keeps the background).
    static func sixel(_ image: RGBAImage) -> [UInt8] {
        let (palette, indices) = quantize(image)
        var out = Array("\u{1B}P0;1;0q\"1;1;\(image.width);\(image.height)".utf8)
        for (n, color) in palette.enumerated() {
            func percent(_ v: UInt8) -> Int { (Int(v) * 100 + 127) / 255 }
            out += Array("#\(n);2;\(percent(color.0));\(percent(color.1));\(percent(color.2))".utf8)
        }
        var bandStart = 0
        while bandStart < image.height {
            let bandEnd = min(image.height, bandStart + 6)
            // Each colour's bits in this band, built in one pass over its pixels.
            var rows = [[UInt8]?](repeating: nil, count: palette.count)
            for y in bandStart..<bandEnd {
                let bit = UInt8(1) << UInt8(y - bandStart)
                for x in 0..<image.width {
                    let colour = Int(indices[y * image.width + x])
                    guard colour >= 0 else { continue }
                    if rows[colour] == nil { rows[colour] = [UInt8](repeating: 0, count: image.width) }
                    rows[colour]![x] |= bit
                }
            }
            var first = true
            for colour in 0..<palette.count {
                guard var row = rows[colour] else { continue }
                if !first { out.append(UInt8(ascii: "$")) }
                first = false
                out += Array("#\(colour)".utf8)
                while row.last == 0 { row.removeLast() }
                out += runLength(row.map { 63 + $0 })
            }
            bandStart = bandEnd
            if bandStart < image.height { out.append(UInt8(ascii: "-")) }
        }
        return out + Array("\u{1B}\\".utf8)
    }

    /// Sixel characters with runs of four or more written as `!count` and the character.
    static func runLength(_ row: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < row.count {
            var j = i + 1
            while j < row.count && row[j] == row[i] { j += 1 }
            let count = j - i
            if count >= 4 {
                out += Array("!\(count)".utf8)
                out.append(row[i])
            } else {
                out += Array(repeating: row[i], count: count)
            }
            i = j
        }
        return out
    }

    /// At most 256 colours for `image` and each pixel's index (-1 for a transparent pixel).
    ///
    /// Exact colours, in order of first appearance, when there are 256 or fewer; otherwise a median-cut palette.
    static func quantize(_ image: RGBAImage) -> (palette: [(UInt8, UInt8, UInt8)], indices: [Int16]) {
        let count = image.width * image.height
        var indices = [Int16](repeating: -1, count: count)
        var exact: [UInt32: Int16] = [:]
        var palette: [(UInt8, UInt8, UInt8)] = []
        var fits = true
        let p = image.pixels
        for i in 0..<count where p[i * 4 + 3] >= 128 {
            let key = UInt32(p[i * 4]) << 16 | UInt32(p[i * 4 + 1]) << 8 | UInt32(p[i * 4 + 2])
            if let index = exact[key] {
                indices[i] = index
                continue
            }
            guard palette.count < 256 else {
                fits = false
                break
            }
            exact[key] = Int16(palette.count)
            indices[i] = Int16(palette.count)
            palette.append((p[i * 4], p[i * 4 + 1], p[i * 4 + 2]))
        }
        if fits { return (palette, indices) }
        // Too many colours: median cut over a 5-bit-per-channel histogram.
        let (boxPalette, lookup) = medianCut(image, colours: 256)
        for i in 0..<count {
            guard p[i * 4 + 3] >= 128 else {
                indices[i] = -1
                continue
            }
            indices[i] = lookup[bucket(p[i * 4], p[i * 4 + 1], p[i * 4 + 2])]
        }
        return (boxPalette, indices)
    }

    /// The histogram bucket of a colour: 5 bits of each channel.
    static func bucket(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int { Int(r >> 3) << 10 | Int(g >> 3) << 5 | Int(b >> 3) }

    /// At most `colours` colours for the opaque pixels of `image` by median cut, and each bucket's palette index.
    ///
    /// The box with the most pixels spread over the widest channel is split at its pixel median
    /// along that channel until there are `colours` boxes or none can be split; each colour is the
    /// mean of its box's pixels. Ties are broken by bucket number, so the result is deterministic.
    static func medianCut(_ image: RGBAImage, colours: Int) -> (palette: [(UInt8, UInt8, UInt8)], lookup: [Int16]) {
        var counts = [Int](repeating: 0, count: 1 << 15)
        var sums = [(Int, Int, Int)](repeating: (0, 0, 0), count: 1 << 15)
        let p = image.pixels
        for i in 0..<(image.width * image.height) where p[i * 4 + 3] >= 128 {
            let k = bucket(p[i * 4], p[i * 4 + 1], p[i * 4 + 2])
            counts[k] += 1
            sums[k].0 += Int(p[i * 4]); sums[k].1 += Int(p[i * 4 + 1]); sums[k].2 += Int(p[i * 4 + 2])
        }
        func channel(_ k: Int, _ c: Int) -> Int { c == 0 ? k >> 10 : c == 1 ? (k >> 5) & 31 : k & 31 }
        var boxes: [[Int]] = [(0..<(1 << 15)).filter { counts[$0] > 0 }]
        /// The widest channel of a box, its range and the box's pixel count.
        func measure(_ box: [Int]) -> (channel: Int, range: Int, pixels: Int) {
            var best = (channel: 0, range: -1, pixels: 0)
            for c in 0..<3 {
                var low = 31, high = 0
                for k in box {
                    low = min(low, channel(k, c))
                    high = max(high, channel(k, c))
                }
                if high - low > best.range { best = (c, high - low, 0) }
            }
            best.pixels = box.reduce(0) { $0 + counts[$1] }
            return best
        }
        var measures = boxes.map(measure)
        while boxes.count < colours {
            var pick = -1
            var score = 0
            for (n, m) in measures.enumerated() where m.range > 0 && m.range * m.pixels > score {
                (pick, score) = (n, m.range * m.pixels)
            }
            guard pick >= 0 else { break }
            let along = measures[pick].channel
            let sorted = boxes[pick].sorted { (channel($0, along), $0) < (channel($1, along), $1) }
            let half = measures[pick].pixels / 2
            var running = 0
            var cut = 1
            for (n, k) in sorted.enumerated() {
                running += counts[k]
                if running >= half {
                    cut = min(max(1, n + 1), sorted.count - 1)
                    break
                }
            }
            boxes[pick] = Array(sorted[..<cut])
            boxes.append(Array(sorted[cut...]))
            measures[pick] = measure(boxes[pick])
            measures.append(measure(boxes[boxes.count - 1]))
        }
        var lookup = [Int16](repeating: 0, count: 1 << 15)
        var palette: [(UInt8, UInt8, UInt8)] = []
        for (n, box) in boxes.enumerated() {
            var total = (0, 0, 0, 0)
            for k in box {
                lookup[k] = Int16(n)
                total.0 += sums[k].0; total.1 += sums[k].1; total.2 += sums[k].2; total.3 += counts[k]
            }
            let pixels = max(1, total.3)
            palette.append((UInt8(total.0 / pixels), UInt8(total.1 / pixels), UInt8(total.2 / pixels)))
        }
        return (palette, lookup)
    }
}

extension Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// `bytes` as standard base64 with padding.
    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return out
    }
}
