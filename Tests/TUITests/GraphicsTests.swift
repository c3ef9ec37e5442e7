import CoreSupport
import Foundation
import Notebook
import Testing

@testable import TUI

/// Image outputs: terminal detection, sizing, the exact kitty and sixel bytes for known PNGs, and
/// how frames put pictures on and take them off the screen.
@Suite("Outputs: images")
struct GraphicsTests {
    /// A PNG from Tests/TUITests/Fixtures (made by make-images.py there).
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        return Array(try Data(contentsOf: url))
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    // MARK: Detection and sizing

    @Test func theTerminalIsDetectedFromTheEnvironment() {
        func graphics(_ environment: [String: String]) -> GraphicsProtocol? { ImageLayout.detect(environment: environment).graphics }
        #expect(graphics(["TERM": "xterm-kitty"]) == .kitty)
        #expect(graphics(["TERM": "xterm-256color", "KITTY_WINDOW_ID": "3"]) == .kitty)
        #expect(graphics(["TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"]) == .kitty)
        #expect(graphics(["TERM": "xterm-ghostty"]) == .kitty)
        #expect(graphics(["TERM": "foot"]) == .sixel)
        #expect(graphics(["TERM": "mlterm"]) == .sixel)
        #expect(graphics(["TERM": "xterm-256color"]) == nil)
        #expect(graphics([:]) == nil)
        #expect(graphics(["TERM": "tmux-256color", "KITTY_WINDOW_ID": "3", "TMUX": "/tmp/tmux-0/default,1,0"]) == nil, "tmux passes no images")
        #expect(graphics(["TERM": "screen"]) == nil)
        // The override decides outright, in any case.
        #expect(graphics(["TERM": "xterm-256color", "WB_GRAPHICS": "sixel"]) == .sixel)
        #expect(graphics(["TERM": "xterm-256color", "TMUX": "x", "WB_GRAPHICS": "KITTY"]) == .kitty)
        #expect(graphics(["TERM": "xterm-kitty", "WB_GRAPHICS": "none"]) == nil)
        #expect(graphics(["TERM": "xterm-kitty", "WB_GRAPHICS": "bogus"]) == .kitty, "an unknown value detects as usual")
        // The cell size comes from the terminal when it reports one.
        let layout = ImageLayout.detect(environment: ["TERM": "foot"], cellPixels: Size(width: 9, height: 18))
        #expect(layout.cellWidth == 9 && layout.cellHeight == 18)
        let fallback = ImageLayout.detect(environment: ["TERM": "foot"], cellPixels: Size(width: 0, height: 0))
        #expect(fallback.cellWidth == 10 && fallback.cellHeight == 20)
    }

    @Test func imagesAreBoxedInCellsNeverEnlarged() {
        let layout = ImageLayout(graphics: .kitty, cellWidth: 10, cellHeight: 20, maxRows: 20)
        #expect(layout.box(pixelWidth: 640, pixelHeight: 480) == Size(width: 54, height: 20), "480 px is 24 rows: scaled to 20")
        #expect(layout.box(pixelWidth: 100, pixelHeight: 40) == Size(width: 10, height: 2))
        #expect(layout.box(pixelWidth: 3, pixelHeight: 7) == Size(width: 1, height: 1))
        #expect(layout.box(pixelWidth: 640, pixelHeight: 480, maxColumns: 32) == Size(width: 32, height: 12), "a narrow screen scales it down")
        #expect(layout.box(pixelWidth: 0, pixelHeight: 10) == Size(width: 0, height: 0))
        #expect(ImageLayout.placeholders.rows(for: TerminalImage(png: try! Self.fixture("small.png"))!) == 1)
    }

    // MARK: PNG

    @Test func theHeaderGivesTheSizeAndLibpngThePixels() throws {
        let png = try Self.fixture("small.png")
        let image = try #require(TerminalImage(png: png))
        #expect(image.pixelWidth == 3 && image.pixelHeight == 7)
        #expect(image.label == "[image/png 3x7]")
        #expect(image.id != 0 && image.id == TerminalImage(png: png)?.id, "the id is the content's")
        #expect(TerminalImage(base64: Data(png).base64EncodedString()) == image)
        let decoded = try RGBAImage(png: png)
        #expect(decoded.width == 3 && decoded.height == 7)
        #expect(Array(decoded.pixels[0..<12]) == [255, 0, 0, 255, 0, 0, 255, 255, 0, 0, 0, 0])
        #expect(Array(decoded.pixels[72..<84]) == [255, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255])

        #expect(TerminalImage(png: Array("GIF89a".utf8)) == nil)
        var broken = png
        broken.removeLast(30)  // IDAT cut short
        #expect(TerminalImage(png: broken) != nil, "the header alone is enough for a placeholder")
        #expect(throws: RGBAImage.DecodeError.self) { try RGBAImage(png: broken) }
    }

    // MARK: Kitty

    @Test func kittyBytesForAKnownPNG() throws {
        let png = try Self.fixture("small.png")
        let image = try #require(TerminalImage(png: png))
        let placement = GraphicPlacement(image: image, rect: Rect(x: 3, y: 2, width: 1, height: 1))
        let expected =
            "\u{1B}7\u{1B}[3;4H"
            + "\u{1B}_Ga=T,f=100,t=d,i=\(image.id),p=8196,c=1,r=1,C=1,q=2;\(Data(png).base64EncodedString())\u{1B}\\"
            + "\u{1B}8"
        #expect(Self.text(GraphicsEncoder.kitty(placement, transmit: true)) == expected)
        // Once the terminal has the image, a placement names it; a delete removes only this placement.
        #expect(Self.text(GraphicsEncoder.kitty(placement, transmit: false)) == "\u{1B}7\u{1B}[3;4H\u{1B}_Ga=p,i=\(image.id),p=8196,c=1,r=1,C=1,q=2\u{1B}\\\u{1B}8")
        #expect(Self.text(GraphicsEncoder.kittyDelete(placement)) == "\u{1B}_Ga=d,d=i,i=\(image.id),p=8196,q=2\u{1B}\\")
        #expect(Self.text(GraphicsEncoder.kittyDeleteAll(freeData: true)) == "\u{1B}_Ga=d,d=A,q=2\u{1B}\\")
        // The lower half of a two-row picture (the top row scrolled off): pixel rows 3-6 of 7 as the source rectangle.
        let band = GraphicPlacement(image: image, rect: Rect(x: 3, y: 0, width: 1, height: 1), pictureRows: 2, firstRow: 1)
        #expect(
            Self.text(GraphicsEncoder.kitty(band, transmit: false))
                == "\u{1B}7\u{1B}[1;4H\u{1B}_Ga=p,i=\(image.id),p=4,x=0,y=3,w=3,h=4,c=1,r=1,C=1,q=2\u{1B}\\\u{1B}8")
    }

    @Test func kittySendsABigPNGIn4096ByteChunks() throws {
        let png = try Self.fixture("noise.png")
        let image = try #require(TerminalImage(png: png))
        let bytes = Self.text(GraphicsEncoder.kitty(GraphicPlacement(image: image, rect: Rect(x: 0, y: 0, width: 4, height: 2)), transmit: true))
        let base64 = Data(png).base64EncodedString()
        #expect(base64.count == 6544)
        let first = String(base64.prefix(4096)), rest = String(base64.dropFirst(4096))
        #expect(
            bytes == "\u{1B}7\u{1B}[1;1H"
                + "\u{1B}_Ga=T,f=100,t=d,i=\(image.id),p=1,c=4,r=2,C=1,q=2,m=1;\(first)\u{1B}\\"
                + "\u{1B}_Gm=0;\(rest)\u{1B}\\"
                + "\u{1B}8")
    }

    // MARK: Sixel

    @Test func sixelBytesForAKnownPNG() throws {
        let image = try #require(TerminalImage(png: try Self.fixture("small.png")))
        let placement = GraphicPlacement(image: image, rect: Rect(x: 3, y: 2, width: 1, height: 1))
        // Spelled out: palette red #0 and blue #1 (100% = 255); band one (rows 0-5) has red in
        // column 0 (all six bits: ~) and blue in column 1 (? then ~), the transparent column is
        // left unpainted; band two (row 6) is red in all three columns (bit 0: @).
        let expected =
            "\u{1B}7\u{1B}[3;4H"
            + "\u{1B}P0;1;0q\"1;1;3;7#0;2;100;0;0#1;2;0;0;100"
            + "#0~$#1?~-#0@@@"
            + "\u{1B}\\\u{1B}8"
        #expect(Self.text(try GraphicsEncoder.sixel(placement, cellWidth: 10, cellHeight: 20)) == expected)

        // Cells 4 pixels high: the picture takes two rows; with the first scrolled off, the second shows
        // pixel rows 4-6: red in column 0 (bits 0-2: F) and, in row 6, columns 1-2 (bit 2: C); blue in column 1 (bits 0-1: B).
        let band = GraphicPlacement(image: image, rect: Rect(x: 3, y: 5, width: 1, height: 1), pictureRows: 2, firstRow: 1)
        #expect(
            Self.text(try GraphicsEncoder.sixel(band, cellWidth: 10, cellHeight: 4))
                == "\u{1B}7\u{1B}[6;4H\u{1B}P0;1;0q\"1;1;3;3#0;2;100;0;0#1;2;0;0;100#0FCC$#1?B\u{1B}\\\u{1B}8")
    }

    @Test func sixelQuantizesManyColoursAndScalesDownToFit() throws {
        let image = try #require(TerminalImage(png: try Self.fixture("noise.png")))
        let full = Self.text(try GraphicsEncoder.sixel(GraphicPlacement(image: image, rect: Rect(x: 0, y: 0, width: 4, height: 2)), cellWidth: 10, cellHeight: 20))
        #expect(full.hasPrefix("\u{1B}7\u{1B}[1;1H\u{1B}P0;1;0q\"1;1;40;40#0;2;"))
        #expect(full.hasSuffix("\u{1B}\\\u{1B}8"))
        let colours = full.split(separator: "#").filter { $0.contains(";2;") }.count
        #expect(colours > 64 && colours <= 256, "1600 random colours become at most 256")
        #expect(full.filter { $0 == "-" }.count == 6, "40 rows are 7 bands")
        // Two cells of 10x20 pixels hold the 40x40 picture at half size.
        let half = Self.text(try GraphicsEncoder.sixel(GraphicPlacement(image: image, rect: Rect(x: 0, y: 0, width: 2, height: 1)), cellWidth: 10, cellHeight: 20))
        #expect(half.contains("\"1;1;20;20#"))
        #expect(half.filter { $0 == "-" }.count == 3)
        #expect(GraphicsEncoder.runLength(Array("AAAABCCC".utf8)) == Array("!4ABCCC".utf8))

        // A smooth gradient of 768 colours (a heatmap's kind): median cut keeps every pixel close to its colour.
        var pixels: [UInt8] = []
        for i in 0..<768 { pixels += [UInt8(min(255, i)), UInt8(max(0, min(255, i - 256))), UInt8(max(0, i - 512)), 255] }
        let gradient = RGBAImage(width: 768, height: 1, pixels: pixels)
        let (palette, indices) = GraphicsEncoder.quantize(gradient)
        #expect(palette.count > 64 && palette.count <= 256, "\(palette.count) colours")
        var worst = 0
        for i in 0..<768 {
            let c = palette[Int(indices[i])]
            worst = max(worst, abs(Int(c.0) - Int(pixels[i * 4])), abs(Int(c.1) - Int(pixels[i * 4 + 1])), abs(Int(c.2) - Int(pixels[i * 4 + 2])))
        }
        #expect(worst <= 8, "largest channel error \(worst)")
        #expect(GraphicsEncoder.quantize(gradient).indices == indices, "deterministic")
    }

    // MARK: Frames

    @Test func framesPutPicturesOnAfterTheTextAndTakeThemOffWhenTheyMove() throws {
        let image = try #require(TerminalImage(png: try Self.fixture("small.png")))
        var terminal = Terminal(backend: InMemoryBackend(width: 20, height: 6))
        let at = Rect(x: 2, y: 1, width: 3, height: 2)
        terminal.draw { buffer in
            buffer.write("[image/png 3x7]", x: 2, y: 1)
            buffer.place(image, in: at)
        }
        var operations = terminal.backend.operations
        #expect(operations.count == 5)
        guard case .draw = operations[1], case .drawGraphics(let shown) = operations[3], case .flush = operations[4] else {
            Issue.record("clear, draw, cursor, pictures, flush expected: \(operations)")
            return
        }
        #expect(shown == [GraphicPlacement(image: image, rect: at)])
        #expect(terminal.backend.graphics == shown)

        // The same frame again: nothing to do.
        var before = terminal.backend.operations.count
        terminal.draw { buffer in
            buffer.write("[image/png 3x7]", x: 2, y: 1)
            buffer.place(image, in: at)
        }
        #expect(Array(terminal.backend.operations[before...]) == [.flush])

        // Scrolled up a row: off at the old place before the text is painted, on at the new one after.
        before = terminal.backend.operations.count
        let moved = Rect(x: 2, y: 0, width: 3, height: 2)
        terminal.draw { buffer in
            buffer.write("[image/png 3x7]", x: 2, y: 0)
            buffer.place(image, in: moved)
        }
        operations = Array(terminal.backend.operations[before...])
        guard case .removeGraphics(let gone) = operations.first, case .drawGraphics(let back) = operations.dropLast().last else {
            Issue.record("remove first, place last expected: \(operations)")
            return
        }
        #expect(gone.map(\.rect) == [at] && back.map(\.rect) == [moved])
        #expect(terminal.backend.graphics.map(\.rect) == [moved])

        // Something drawn over its lower row (a message line): the picture keeps the row above.
        terminal.draw { buffer in
            buffer.write("[image/png 3x7]", x: 2, y: 0)
            buffer.place(image, in: moved)
            buffer.write("message", x: 0, y: 1)
        }
        #expect(terminal.backend.graphics == [GraphicPlacement(image: image, rect: Rect(x: 2, y: 0, width: 3, height: 1), pictureRows: 2)])
        #expect(terminal.backend.lines(trimmed: true)[1] == "message")
        // Over both rows: it goes.
        terminal.draw { buffer in
            buffer.place(image, in: moved)
            buffer.fill(Rect(x: 3, y: 0, width: 1, height: 2), with: "x")
        }
        #expect(terminal.backend.graphics.isEmpty)
    }

    @Test func aPlacementMustLieWhollyOnTheScreen() throws {
        let image = try #require(TerminalImage(png: try Self.fixture("small.png")))
        var buffer = ScreenBuffer(width: 10, height: 4)
        let placed = [
            buffer.place(image, in: Rect(x: 8, y: 0, width: 3, height: 1)),
            buffer.place(image, in: Rect(x: 0, y: 3, width: 1, height: 2)),
            buffer.place(image, in: Rect(x: 0, y: 0, width: 0, height: 1)),
            buffer.place(image, in: Rect(x: 0, y: 0, width: 2, height: 2)),
            buffer.place(image, in: Rect(x: 1, y: 1, width: 2, height: 2)),
        ]
        #expect(placed == [false, false, false, true, true])
        // A new placement replaces one it overlaps.
        #expect(buffer.graphics.map(\.rect) == [Rect(x: 1, y: 1, width: 2, height: 2)])
        // A write across its middle row keeps the larger band: here the three rows below.
        buffer = ScreenBuffer(width: 10, height: 6)
        buffer.place(image, in: Rect(x: 2, y: 0, width: 3, height: 5))
        buffer.write("box", x: 0, y: 1)
        #expect(buffer.graphics == [GraphicPlacement(image: image, rect: Rect(x: 2, y: 2, width: 3, height: 3), pictureRows: 5, firstRow: 2)])
        buffer.write("wide 東", x: 0, y: 3)
        #expect(buffer.graphics.map(\.rect) == [Rect(x: 2, y: 2, width: 3, height: 1)] && buffer.graphics.first?.firstRow == 2, "a tie keeps the upper band")
        buffer.write("left of it", x: 0, y: 2, clip: Rect(x: 0, y: 0, width: 2, height: 5))
        #expect(buffer.graphics.count == 1, "cells beside the picture leave it alone")
        buffer.clear()
        #expect(buffer.graphics.isEmpty)
    }

    @Test func theNotebookPlacesWholeImagesAndLabelsCutOnes() throws {
        let png = try Self.fixture("noise.png")
        var plot = NotebookCell(.code, source: "plot()")
        plot.outputs = [
            Output(json: [
                "output_type": "display_data", "metadata": [:],
                "data": ["image/png": .string(Data(png).base64EncodedString()), "text/plain": "<Figure>"],
            ])
        ]
        let notebook = Notebook(cells: [plot, NotebookCell(.code, source: "x = 1")])
        var state = NotebookApp.update(NotebookApp.State(notebook: notebook, path: "/tmp/plot.ipynb", size: Size(width: 40, height: 10)), .tick(1))
        func render() -> ScreenBuffer {
            var buffer = ScreenBuffer(size: state.size)
            NotebookApp.render(state, into: &buffer)
            return buffer
        }
        // Without graphics: one placeholder line.
        #expect(state.cells[0].area.lineCount == 1)
        #expect(render().lines(trimmed: true)[2] == "▌  [image/png 40x40]")
        #expect(render().graphics.isEmpty)

        // kitty: 40x40 px in 10x20 cells is 4 columns by 2 rows, placed under the source.
        state.setImageLayout(ImageLayout(graphics: .kitty, cellWidth: 10, cellHeight: 20))
        #expect(state.cells[0].area.lineCount == 2)
        var buffer = render()
        #expect(buffer.graphics.map(\.rect) == [Rect(x: 3, y: 2, width: 4, height: 2)])
        #expect(buffer.lines(trimmed: true)[2] == "▌  [image/png 40x40]", "the label lies under the picture")

        // Scrolled so the picture's first row is off the top: its second row shows, as a band.
        state.scrollTop = 3
        state.follow = false
        buffer = render()
        #expect(buffer.graphics == [GraphicPlacement(image: try #require(TerminalImage(png: png)), rect: Rect(x: 3, y: 0, width: 4, height: 1), pictureRows: 2, firstRow: 1)])
        // Scrolled past it: gone.
        state.scrollTop = 4
        #expect(render().graphics.isEmpty)
        // A window too short for the whole picture shows its top rows.
        state.scrollTop = 0
        state.size = Size(width: 40, height: 4)
        buffer = render()
        #expect(buffer.graphics.map(\.rect) == [Rect(x: 3, y: 2, width: 4, height: 1)] && buffer.graphics.first?.firstRow == 0)

        // Cells added after paste/insert get the layout too.
        state = NotebookApp.update(state, .input(.char("b")))
        #expect(state.cells.count == 3 && state.cells.allSatisfy { $0.area.imageLayout.graphics == .kitty })
    }
}
