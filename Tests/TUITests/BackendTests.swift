import Testing

@testable import TUI

@Suite("Terminal and in-memory backend")
struct BackendTests {
    /// A small status screen: a title row, a body line and a status bar.
    func render(_ buffer: inout ScreenBuffer, body: String, status: String) {
        buffer.write("wb — notebook", x: 0, y: 0, style: Style(attributes: .bold))
        buffer.write(body, x: 0, y: 1)
        buffer.fill(Rect(x: 0, y: buffer.height - 1, width: buffer.width, height: 1), style: Style(attributes: .reverse))
        buffer.write(status, x: 0, y: buffer.height - 1, style: Style(attributes: .reverse))
    }

    @Test func firstFrameClearsAndPaintsWhatIsNotBlank() {
        var terminal = Terminal(backend: InMemoryBackend(width: 20, height: 3))
        terminal.draw { render(&$0, body: "x = 1", status: "idle") }
        #expect(terminal.backend.lines(trimmed: true) == ["wb — notebook", "x = 1", "idle"])
        #expect(terminal.backend.operations.first == .clear)
        #expect(terminal.backend.operations.last == .flush)
        // Plain spaces in "x = 1" already match the cleared screen; styled ones do not.
        #expect(terminal.backend.paintedCells == 13 + 3 + 20)
    }

    @Test func unchangedFramePaintsNothing() {
        var terminal = Terminal(backend: InMemoryBackend(width: 20, height: 3))
        terminal.draw { render(&$0, body: "x = 1", status: "idle") }
        let before = terminal.backend.operations.count
        terminal.draw { render(&$0, body: "x = 1", status: "idle") }
        #expect(Array(terminal.backend.operations[before...]) == [.flush])
    }

    @Test func changedFramePaintsOnlyTheDifference() {
        var terminal = Terminal(backend: InMemoryBackend(width: 20, height: 3))
        terminal.draw { render(&$0, body: "x = 1", status: "idle") }
        let before = terminal.backend.paintedCells
        terminal.draw { render(&$0, body: "x = 2", status: "busy") }
        #expect(terminal.backend.lines(trimmed: true) == ["wb — notebook", "x = 2", "busy"])
        #expect(terminal.backend.paintedCells - before == 1 + 4)
    }

    @Test func backendScreenAlwaysMatchesTheFrame() {
        var terminal = Terminal(backend: InMemoryBackend(width: 12, height: 2))
        let frames = ["ab中文cd", "a中b文", "😀x👨‍👩‍👧", "e\u{301}中中中中", "", "zz  zz", "中", " 中", "  中 a"]
        for (index, text) in frames.enumerated() {
            let frame = terminal.draw { buffer in
                buffer.write(text, x: index % 3, y: 0)
                buffer.write(text, x: 0, y: 1, style: Style(foreground: .indexed(UInt8(index))))
            }
            #expect(terminal.backend.screen.cells == frame.cells, "frame \(index): \(text)")
        }
    }

    @Test func cursorIsSentOnlyWhenItChanges() {
        var terminal = Terminal(backend: InMemoryBackend(width: 5, height: 1))
        terminal.draw { $0.cursor = Position(x: 2, y: 0) }
        #expect(terminal.backend.cursor == Position(x: 2, y: 0))
        terminal.draw { $0.cursor = Position(x: 2, y: 0) }
        terminal.draw { $0.cursor = nil }
        let cursorCalls = terminal.backend.operations.filter {
            if case .setCursor = $0 { return true } else { return false }
        }
        #expect(cursorCalls == [.setCursor(Position(x: 2, y: 0)), .setCursor(nil)])
        #expect(terminal.backend.cursor == nil)
    }

    @Test func resizeRepaintsEverything() {
        var terminal = Terminal(backend: InMemoryBackend(width: 10, height: 2))
        terminal.draw { $0.write("hello", x: 0, y: 0) }
        var backend = terminal.backend
        backend.resize(width: 6, height: 3)
        backend.clearLog()
        terminal = Terminal(backend: backend)
        terminal.draw { $0.write("hello world", x: 0, y: 2) }
        #expect(terminal.backend.lines() == ["      ", "      ", "hello "])
        #expect(terminal.backend.operations.first == .clear)
    }

    @Test func invalidateForcesAFullRepaint() {
        var terminal = Terminal(backend: InMemoryBackend(width: 4, height: 1))
        terminal.draw { $0.write("abcd", x: 0, y: 0) }
        let before = terminal.backend.paintedCells
        terminal.invalidate()
        terminal.draw { $0.write("abcd", x: 0, y: 0) }
        #expect(terminal.backend.paintedCells - before == 4)
    }

    @Test func inMemoryBackendPaintsRunsLikeATerminal() {
        var backend = InMemoryBackend(width: 6, height: 1)
        var frame = ScreenBuffer(width: 6, height: 1)
        frame.write("中文", x: 0, y: 0)
        backend.draw(frame.diff(from: ScreenBuffer(width: 6, height: 1)))
        #expect(backend.lines() == ["中文  "])
        // A narrow character painted over half of a wide one leaves a space in the other half.
        backend.draw([ScreenBuffer.Run(x: 1, y: 0, cells: [Cell("x")!])])
        #expect(backend.lines() == [" x文  "])
        // Runs outside the screen are ignored.
        backend.draw([ScreenBuffer.Run(x: 0, y: 5, cells: [Cell("y")!]), ScreenBuffer.Run(x: 5, y: 0, cells: [Cell("中")!])])
        #expect(backend.lines() == [" x文  "])
    }
}

@Suite("Styles and colours")
struct StyleTests {
    @Test(arguments: [
        (Color.rgb(255, 0, 0), ColorDepth.palette256, Color.indexed(196)),
        (.rgb(128, 128, 128), .palette256, .indexed(244)),
        (.rgb(0, 95, 135), .palette256, .indexed(24)),
        (.rgb(255, 0, 0), .ansi16, .ansi(9)),
        (.rgb(0, 0, 0), .ansi16, .ansi(0)),
        (.rgb(1, 2, 3), .trueColor, .rgb(1, 2, 3)),
        (.indexed(196), .ansi16, .ansi(9)),
        (.indexed(3), .ansi16, .ansi(3)),
        (.indexed(3), .palette256, .ansi(3)),
        (.indexed(100), .trueColor, .indexed(100)),
        (.ansi(12), .ansi16, .ansi(12)),
        (.rgb(9, 9, 9), .none, .default),
        (.ansi(1), .none, .default),
        (.default, .ansi16, .default),
    ])
    func colourReduction(_ color: Color, _ depth: ColorDepth, _ expected: Color) {
        #expect(color.reduced(to: depth) == expected)
    }

    @Test func noColorKeepsAttributes() {
        let style = Style(foreground: .red, background: .rgb(1, 2, 3), attributes: [.bold, .reverse])
        #expect(style.reduced(to: .none) == Style(attributes: [.bold, .reverse]))
    }

    @Test func paletteEntries() {
        #expect(Palette.rgb(of: 16) == (0, 0, 0))
        #expect(Palette.rgb(of: 231) == (255, 255, 255))
        #expect(Palette.rgb(of: 232) == (8, 8, 8))
        #expect(Palette.rgb(of: 255) == (238, 238, 238))
    }
}
