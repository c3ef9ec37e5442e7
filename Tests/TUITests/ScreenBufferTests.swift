import Testing

@testable import TUI

@Suite("Screen buffer")
struct ScreenBufferTests {
    let red = Style(foreground: .red)
    let bold = Style(attributes: .bold)

    @Test func startsBlank() {
        let buffer = ScreenBuffer(width: 3, height: 2)
        #expect(buffer.lines() == ["   ", "   "])
        #expect(buffer.lines(trimmed: true) == ["", ""])
        #expect(buffer[0, 0] == .blank)
        #expect(buffer.cursor == nil)
    }

    @Test func writesTextWithStyle() {
        var buffer = ScreenBuffer(width: 8, height: 2)
        let end = buffer.write("hello", x: 1, y: 1, style: red)
        #expect(end == 6)
        #expect(buffer.lines() == ["        ", " hello  "])
        #expect(buffer[1, 1].style == red)
        #expect(buffer[6, 1].style == .plain)
    }

    @Test func clipsAtTheRightEdgeAndOutsideRows() {
        var buffer = ScreenBuffer(width: 5, height: 1)
        let end = buffer.write("abcdefgh", x: 2, y: 0)
        #expect(buffer.lines() == ["  abc"])
        #expect(end >= 5)
        buffer.write("zz", x: 0, y: 3)
        buffer.write("zz", x: 0, y: -1)
        #expect(buffer.lines() == ["  abc"])
    }

    @Test func clipsToARectangleOnBothSides() {
        var buffer = ScreenBuffer(width: 10, height: 1)
        let clip = Rect(x: 2, y: 0, width: 4, height: 1)
        buffer.write("0123456789", x: 0, y: 0, clip: clip)
        #expect(buffer.lines() == ["  2345    "])
        // Scrolled left: a wide character half outside leaves a space in the half that shows.
        buffer.clear()
        buffer.write("中文字", x: 1, y: 0, clip: clip)
        #expect(buffer.lines() == ["   文     "])
        #expect(buffer[2, 0].grapheme == " ")
        #expect(buffer[3, 0].grapheme == "文")
        #expect(buffer[4, 0].isContinuation)
        #expect(buffer[5, 0].grapheme == " ")
    }

    @Test func wideCharactersTakeTwoCells() {
        var buffer = ScreenBuffer(width: 6, height: 1)
        let end = buffer.write("a中b", x: 0, y: 0)
        #expect(end == 4)
        #expect(buffer[1, 0].grapheme == "中")
        #expect(buffer[1, 0].width == 2)
        #expect(buffer[2, 0].isContinuation)
        #expect(buffer[3, 0].grapheme == "b")
        #expect(buffer.lines() == ["a中b  "])
    }

    @Test func wideCharacterThatDoesNotFitLeavesASpace() {
        var buffer = ScreenBuffer(width: 4, height: 1)
        buffer.write("abc中", x: 0, y: 0)
        #expect(buffer.lines() == ["abc "])
        #expect(!buffer[3, 0].isContinuation)
        let stored = buffer.set("中", x: 3, y: 0)
        #expect(!stored)
        let storedInside = buffer.set("中", x: 2, y: 0)
        #expect(storedInside)
        #expect(buffer.lines() == ["ab中"])
    }

    @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
        var buffer = ScreenBuffer(width: 6, height: 1)
        buffer.write("中文", x: 0, y: 0, style: red)
        buffer.write("x", x: 1, y: 0)  // right half of 中
        #expect(buffer.lines() == [" x文  "])
        #expect(buffer[0, 0].style == red)  // the blank keeps the old cell's look
        buffer.write("y", x: 2, y: 0)  // left half of 文
        #expect(buffer.lines() == [" xy   "])
        #expect(buffer.cells.allSatisfy { !$0.isContinuation })
        buffer.write("中", x: 2, y: 0)
        buffer.write("文", x: 1, y: 0)  // straddles: 文 over x and the left half of 中
        #expect(buffer.lines() == [" 文   "])
    }

    @Test func combiningMarksAndJoinersStayInOneCell() {
        var buffer = ScreenBuffer(width: 8, height: 1)
        let family = scalars(0x1F468, 0x200D, 0x1F469, 0x200D, 0x1F467)
        let end = buffer.write("e\u{301}" + family + "🇫🇷!", x: 0, y: 0)
        #expect(end == 6)
        #expect(buffer[0, 0].grapheme == "e\u{301}")
        #expect(buffer[1, 0].grapheme == family)
        #expect(buffer[1, 0].width == 2)
        #expect(buffer[3, 0].grapheme == "🇫🇷")
        #expect(buffer[5, 0].grapheme == "!")
    }

    @Test func controlAndZeroWidthCharactersAreNeverStored() {
        var buffer = ScreenBuffer(width: 8, height: 1)
        let end = buffer.write("a\tb\nc\u{1B}d\u{7F}\u{85}\u{200B}\u{202E}e", x: 0, y: 0)
        #expect(end == 5)
        #expect(buffer.lines() == ["abcde   "])
        #expect(Cell("\u{7}") == nil)
        #expect(Cell("\u{301}") == nil)
    }

    @Test func writesSpansOneAfterAnother() {
        var buffer = ScreenBuffer(width: 10, height: 1)
        let end = buffer.write([Span("ab", style: red), Span("中", style: bold), Span("c")], x: 1, y: 0)
        #expect(end == 6)
        #expect(buffer.lines() == [" ab中c    "])
        #expect(buffer[2, 0].style == red)
        #expect(buffer[3, 0].style == bold)
        #expect(buffer[4, 0].style == bold)
    }

    @Test func fillsRectanglesCutToTheBuffer() {
        var buffer = ScreenBuffer(width: 5, height: 3)
        buffer.fill(Rect(x: 3, y: 1, width: 10, height: 10), with: "#", style: red)
        #expect(buffer.lines() == ["     ", "   ##", "   ##"])
        buffer.fill(Rect(x: 0, y: 0, width: 5, height: 1), with: "中")
        #expect(buffer.lines() == ["中中 ", "   ##", "   ##"])
        buffer.fill(Rect(x: -2, y: -2, width: 3, height: 3))
        #expect(buffer.lines() == ["  中 ", "   ##", "   ##"])
    }

    @Test func restylesKeepingText() {
        var buffer = ScreenBuffer(width: 4, height: 1)
        buffer.write("abcd", x: 0, y: 0, style: red)
        buffer.restyle(Rect(x: 1, y: 0, width: 2, height: 1)) { $0.attributes.insert(.reverse) }
        #expect(buffer.lines() == ["abcd"])
        #expect(buffer[0, 0].style == red)
        #expect(buffer[1, 0].style == Style(foreground: .red, attributes: .reverse))
        #expect(buffer[3, 0].style == red)
    }

    @Test func rectangles() {
        let a = Rect(x: 0, y: 0, width: 4, height: 4)
        let b = Rect(x: 2, y: 3, width: 10, height: 10)
        #expect(a.intersection(b) == Rect(x: 2, y: 3, width: 2, height: 1))
        #expect(a.intersection(Rect(x: 9, y: 9, width: 1, height: 1)).isEmpty)
        #expect(a.contains(x: 3, y: 3) && !a.contains(x: 4, y: 0))
        #expect(Rect(x: 0, y: 0, width: -3, height: 2).width == 0)
    }

    // MARK: Diff

    @Test func identicalBuffersHaveNoDiff() {
        var buffer = ScreenBuffer(width: 10, height: 3)
        buffer.write("same 中", x: 0, y: 1)
        #expect(buffer.diff(from: buffer).isEmpty)
    }

    @Test func diffListsChangedRuns() {
        var old = ScreenBuffer(width: 10, height: 2)
        old.write("hello world", x: 0, y: 0)
        var new = old
        new.write("J", x: 0, y: 0)
        new.write("W", x: 6, y: 0)
        new.write("ok", x: 3, y: 1)
        let runs = new.diff(from: old)
        #expect(runs.count == 3)
        #expect(runs[0] == ScreenBuffer.Run(x: 0, y: 0, cells: [Cell("J")!]))
        #expect(runs[1].x == 6 && runs[1].y == 0 && runs[1].cells.map(\.grapheme) == ["W"])
        #expect(runs[2].x == 3 && runs[2].y == 1 && runs[2].cells.map(\.grapheme) == ["o", "k"])
    }

    @Test func diffCatchesStyleOnlyChanges() {
        let old = ScreenBuffer(width: 4, height: 1)
        var new = old
        new.restyle(Rect(x: 1, y: 0, width: 2, height: 1)) { $0.background = .blue }
        let runs = new.diff(from: old)
        #expect(runs.count == 1)
        #expect(runs[0].x == 1 && runs[0].cells.count == 2)
    }

    @Test func diffRunsStartAtWholeWideCharacters() {
        var old = ScreenBuffer(width: 6, height: 1)
        old.write("ab中d", x: 0, y: 0)
        // Only the continuation's style changes: the run must start at the lead cell.
        var new = old
        new.restyle(Rect(x: 3, y: 0, width: 1, height: 1)) { $0.attributes.insert(.bold) }
        var runs = new.diff(from: old)
        #expect(runs.count == 1)
        #expect(runs[0].x == 2)
        #expect(runs[0].cells.map(\.grapheme) == ["中", ""])
        // A changed wide character takes its continuation along.
        new = old
        new.write("文", x: 2, y: 0)
        runs = new.diff(from: old)
        #expect(runs == [ScreenBuffer.Run(x: 2, y: 0, cells: [new[2, 0], new[3, 0]])])
        // Narrow characters replacing a wide one.
        new = old
        new.write("xy", x: 2, y: 0)
        runs = new.diff(from: old)
        #expect(runs.count == 1 && runs[0].x == 2 && runs[0].cells.map(\.grapheme) == ["x", "y"])
    }

    @Test func diffAgainstAnotherSizeRepaintsEveryRow() {
        let old = ScreenBuffer(width: 3, height: 1)
        var new = ScreenBuffer(width: 4, height: 2)
        new.write("ab", x: 0, y: 1)
        let runs = new.diff(from: old)
        #expect(runs.count == 2)
        #expect(runs.allSatisfy { $0.x == 0 && $0.cells.count == 4 })
        #expect(runs[1].cells.map(\.grapheme).joined() == "ab  ")
    }

    @Test func clearResetsCellsAndCursor() {
        var buffer = ScreenBuffer(width: 3, height: 1)
        buffer.write("abc", x: 0, y: 0)
        buffer.cursor = Position(x: 1, y: 0)
        buffer.clear(style: red)
        #expect(buffer.lines() == ["   "])
        #expect(buffer[0, 0].style == red)
        #expect(buffer.cursor == nil)
    }
}
