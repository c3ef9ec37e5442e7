import Testing

@testable import TUI

@Suite("ncurses look of a style")
struct TerminalLookTests {
    static func look(_ style: Style, _ depth: ColorDepth, eight: Bool = false, defaults: Bool = true) -> TerminalLook {
        TerminalLook(style, depth: depth, eightColors: eight, defaultColors: defaults)
    }

    @Test func attributeBitsMatchCursesH() {
        // curses.h: NCURSES_BITS(1U, n) is 1 << (n + 8); underline 9, reverse 10, dim 12, bold 13, italic 23.
        let all = Style(attributes: [.bold, .dim, .italic, .underline, .reverse])
        #expect(Self.look(all, .palette256).attributes == 0x0002_0000 | 0x0004_0000 | 0x0010_0000 | 0x0020_0000 | 0x8000_0000)
        #expect(Self.look(.plain, .palette256) == TerminalLook(attributes: 0, foreground: -1, background: -1))
    }

    @Test func coloursAreReducedToWhatTheTerminalShows() {
        let red = Style(foreground: .rgb(255, 0, 0), background: .indexed(236))
        #expect(Self.look(red, .trueColor) == TerminalLook(attributes: 0, foreground: 0xFF0000, background: 236))
        #expect(Self.look(red, .palette256) == TerminalLook(attributes: 0, foreground: 196, background: 236))
        #expect(Self.look(red, .ansi16) == TerminalLook(attributes: 0, foreground: 9, background: 0))  // grey 236 is nearest black
    }

    @Test func eightColourTerminalsShowBrightAsBold() {
        let bright = Style(foreground: .ansi(9), background: .ansi(12))
        #expect(Self.look(bright, .ansi16, eight: true) == TerminalLook(attributes: TerminalLook.bold, foreground: 1, background: 4))
    }

    @Test func noColorKeepsAttributesOnly() {
        let style = Style(foreground: .red, background: .blue, attributes: .underline)
        #expect(Self.look(style, .none) == TerminalLook(attributes: TerminalLook.underline, foreground: -1, background: -1))
    }

    @Test func withoutDefaultColoursTheDefaultIsWhiteOnBlack() {
        #expect(Self.look(.plain, .ansi16, defaults: false) == TerminalLook(attributes: 0, foreground: 7, background: 0))
    }
}
