import Testing

@testable import TUI

/// The visible text of output after sanitizing, with `^[` written for ESC.
func visible(_ text: String) -> String {
    OutputSanitizer.plainText(text.replacing("^[", with: "\u{1B}"))
}

/// Sanitized lines of output, with `^[` written for ESC.
func sanitized(_ text: String) -> [[Span]] {
    OutputSanitizer.sanitize(text.replacing("^[", with: "\u{1B}"))
}

@Suite("Output sanitizer")
struct OutputSanitizerTests {
    // MARK: Lines

    @Test func plainTextKeepsItsLines() {
        #expect(sanitized("abc") == [[Span("abc")]])
        #expect(sanitized("abc\n") == [[Span("abc")]])
        #expect(sanitized("a\n\nb") == [[Span("a")], [], [Span("b")]])
        #expect(sanitized("") == [])
        #expect(visible("a\r\nb") == "a\nb")
    }

    // MARK: Colour and style

    @Test func sgrBecomesStyledSpans() {
        #expect(
            sanitized("^[[31mred^[[0m plain") == [[Span("red", style: Style(foreground: .red)), Span(" plain")]])
        #expect(
            sanitized("^[[1;4;3;7;2mx^[[22my")
                == [
                    [
                        Span("x", style: Style(attributes: [.bold, .underline, .italic, .reverse, .dim])),
                        Span("y", style: Style(attributes: [.underline, .italic, .reverse])),
                    ]
                ])
        #expect(sanitized("^[[1mb^[[mn") == [[Span("b", style: Style(attributes: .bold)), Span("n")]])
    }

    @Test(arguments: [
        ("^[[32m", Style(foreground: .green)),
        ("^[[44m", Style(background: .blue)),
        ("^[[91m", Style(foreground: .ansi(9))),
        ("^[[107m", Style(background: .ansi(15))),
        ("^[[38;5;196m", Style(foreground: .indexed(196))),
        ("^[[48;5;21m", Style(background: .indexed(21))),
        ("^[[38;2;10;20;30m", Style(foreground: .rgb(10, 20, 30))),
        ("^[[48;2;255;128;0m", Style(background: .rgb(255, 128, 0))),
        ("^[[38:5:9m", Style(foreground: .indexed(9))),
        ("^[[38:2::1:2:3m", Style(foreground: .rgb(1, 2, 3))),
        ("^[[38:2:1:2:3m", Style(foreground: .rgb(1, 2, 3))),
        ("^[[1;38;5;4;48;2;1;2;3;4m", Style(foreground: .indexed(4), background: .rgb(1, 2, 3), attributes: [.bold, .underline])),
        ("^[[31;39m", Style()),
        ("^[[41;49m", Style()),
        ("^[[4:0m", Style()),
        ("^[[4:3m", Style(attributes: .underline)),
        ("^[[38;5;300m", Style()),  // out of range: ignored
        ("^[[58;5;9;1m", Style(attributes: .bold)),  // underline colour: skipped with its arguments
        ("^[[5;8;9;53m", Style()),  // blink, conceal, strike, overline: not shown
        ("^[[>4;1m", Style()),  // xterm modifyOtherKeys, not SGR
        ("^[[?1m", Style()),
    ])
    func colours(_ sgr: String, _ style: Style) {
        #expect(sanitized(sgr + "x") == [[Span("x", style: style)]])
    }

    @Test func styleCarriesOverLinesAndChunks() {
        var sanitizer = OutputSanitizer()
        sanitizer.feed("\u{1B}[3")
        sanitizer.feed("3mwarn\nstill")
        sanitizer.feed("\u{1B}[0")
        sanitizer.feed("m done")
        let yellow = Style(foreground: .yellow)
        #expect(sanitizer.lines == [[Span("warn", style: yellow)], [Span("still", style: yellow), Span(" done")]])
        #expect(Array(sanitizer.finishedLines) == [[Span("warn", style: yellow)]])
    }

    // MARK: What acts on the terminal

    @Test(arguments: [
        "^[]52;c;SGVsbG8=\u{7}",  // clipboard write
        "^[]52;c;SGVsbG8=^[\\",
        "^[]0;owned\u{7}",  // icon and window title
        "^[]2;owned^[\\",
        "^[]4;1;rgb:ff/00/00\u{7}",  // palette change
        "^[]1337;File=inline=1:AAAA\u{7}",  // iTerm2 image
        "^[Pq#0;2;0;0;0#0~~-^[\\",  // sixel (DCS)
        "^[_Gf=100,a=T;iVBORw0KGgo=^[\\",  // kitty graphics (APC)
        "^[^private^[\\",  // PM
        "^[Xstart of string^[\\",  // SOS
        "^[[2J^[[H^[[10;10H^[[5A^[[3B^[[2C^[[1D^[[r^[[?1049h^[[?25l^[[6n^[[c",  // cursor, screen, modes, queries
        "^[c^[7^[8^[D^[E^[M^[=^[>",  // reset, save/restore, index
        "^[(0^[)B^[#8",  // charset designation, alignment test
        "\u{7}\u{0}\u{B}\u{C}\u{E}\u{F}\u{7F}",  // BEL, NUL, VT, FF, SO, SI, DEL
        "\u{85}\u{88}\u{8D}\u{9C}",  // C1 controls
        "\u{9B}2J\u{9D}0;title\u{9C}\u{90}q\u{9C}",  // 8-bit CSI, OSC, DCS swallow their sequences
    ])
    func sequencesThatActOnTheTerminalAreDropped(_ sequence: String) {
        #expect(visible("a" + sequence + "b") == "ab")
    }

    @Test func eightBitCSIColoursLikeTheSevenBitOne() {
        #expect(sanitized("\u{9B}31mx") == [[Span("x", style: Style(foreground: .red))]])
    }

    @Test func unterminatedStringSwallowsUntilItEnds() {
        var sanitizer = OutputSanitizer()
        sanitizer.feed("a\u{1B}]0;title")
        sanitizer.feed(" more\n")
        #expect(sanitizer.lines == [[Span("a")]])
        sanitizer.feed("\u{7}b")
        #expect(sanitizer.lines == [[Span("ab")]])
    }

    @Test func cancelAbortsASequence() {
        #expect(sanitized("^[[31\u{18}x") == [[Span("x")]])
        #expect(visible("^[]0;t\u{1A}x") == "x")
    }

    @Test func escapeInsideAStringStartsANewSequence() {
        #expect(sanitized("^[]0;t^[[31mx") == [[Span("x", style: Style(foreground: .red))]])
    }

    // MARK: Hyperlinks

    @Test func httpLinksKeepTheirTarget() {
        let lines = sanitized("see ^[]8;;https://example.com/a?b=1\u{7}docs^[]8;;\u{7} now")
        #expect(lines == [[Span("see "), Span("docs", link: "https://example.com/a?b=1"), Span(" now")]])
        let st = sanitized("^[]8;id=x;HTTP://example.com^[\\x^[]8;;^[\\")
        #expect(st == [[Span("x", link: "HTTP://example.com")]])
    }

    @Test(arguments: [
        "file:///etc/passwd", "javascript:alert(1)", "ssh://host", "https://exa mple.com", "https://ex\u{E9}.com", "",
        "http:/" + String(repeating: "a", count: 3000),
    ])
    func otherLinksKeepOnlyTheirText(_ target: String) {
        #expect(sanitized("^[]8;;\(target)\u{7}text^[]8;;\u{7}!") == [[Span("text!")]])
    }

    // MARK: Line editing

    @Test func carriageReturnOverwritesTheLine() {
        #expect(visible("progress 10%\rprogress 20%") == "progress 20%")
        #expect(visible("abcdef\rXY") == "XYcdef")
        #expect(visible("one\rtwo\nthree\r3") == "two\n3hree")
    }

    @Test func progressBarAcrossChunks() {
        var sanitizer = OutputSanitizer()
        for percent in [0, 50, 100] {
            sanitizer.feed("\r\(String(repeating: " ", count: percent < 100 ? 2 - String(percent).count + 1 : 0))\(percent)%|")
            sanitizer.feed(String(repeating: "█", count: percent / 10) + "|")
        }
        sanitizer.feed("\n")
        #expect(sanitizer.lines.map { $0.map(\.text).joined() } == ["100%|██████████|"])
    }

    @Test func eraseInLine() {
        #expect(visible("abcdef\r^[[Kxy") == "xy")
        #expect(visible("abcdef^[[2K\rxy") == "xy")
        #expect(visible("abcdef\r^[[0Kx") == "x")
        #expect(visible("abcdef\u{8}\u{8}^[[1Kx") == "    xf")
    }

    @Test func backspaceStepsBackOneColumn() {
        #expect(visible("abc\u{8}\u{8}X") == "aXc")
        #expect(visible("\u{8}\u{8}a") == "a")
    }

    @Test func tabsMoveToTheNextStop() {
        #expect(visible("a\tb") == "a       b")
        #expect(visible("abcdefgh\tc") == "abcdefgh        c")
        #expect(visible("abcdefghij\r\tX") == "abcdefghXj")
    }

    @Test func overwritingIsColumnExactWithWideCharacters() {
        #expect(visible("中文\rx") == "x 文")
        #expect(visible("ab\r中") == "中")
        #expect(visible("abc\r中") == "中c")
        #expect(visible("a中\rxy") == "xy ")
    }

    @Test func combiningMarkCutOffByAChunkJoinsItsBase() {
        var sanitizer = OutputSanitizer()
        sanitizer.feed("cafe")
        sanitizer.feed("\u{301}!")
        #expect(sanitizer.lines == [[Span("cafe\u{301}!")]])
        #expect(visible("\u{301}x") == "x")
    }

    @Test func stylesSurviveOverwriting() {
        let lines = sanitized("^[[31mabc^[[0m\r^[[32mX")
        #expect(lines == [[Span("X", style: Style(foreground: .green)), Span("bc", style: Style(foreground: .red))]])
    }

    @Test func editingAfterAppendingKeepsStylesAndLinks() {
        var sanitizer = OutputSanitizer()
        sanitizer.feed("\u{1B}]8;;http://a.example\u{7}ab\u{1B}]8;;\u{7}\u{1B}[1mc\u{1B}[0m\td")
        sanitizer.feed("\rX")
        sanitizer.feed("\u{301}")
        let bold = Style(attributes: .bold)
        #expect(
            sanitizer.lines == [
                [
                    Span("X\u{301}"), Span("b", link: "http://a.example"), Span("c", style: bold),
                    Span("     d"),
                ]
            ])
    }

    @Test func manyLinesStream() {
        var sanitizer = OutputSanitizer()
        for i in 0..<10_000 { sanitizer.feed("\u{1B}[3\(i % 8)mline \(i)\u{1B}[0m\n") }
        #expect(sanitizer.finishedLines.count == 10_000)
        #expect(sanitizer.finishedLines[9_999] == [Span("line 9999", style: Style(foreground: .white))])
    }
}

@Suite("Output sanitizer limits")
struct OutputSanitizerLimitTests {
    @Test func hugeLineWrapsAtTheColumnLimit() {
        var sanitizer = OutputSanitizer()
        let limit = OutputSanitizer.maxLineColumns
        sanitizer.feed(String(repeating: "x", count: limit + 10))
        #expect(sanitizer.lines.map { $0.map(\.text).joined().count } == [limit, 10])
    }

    @Test func tabPastTheLimitStillWraps() {
        var sanitizer = OutputSanitizer()
        sanitizer.feed(String(repeating: "x", count: OutputSanitizer.maxLineColumns - 2) + "\ty")
        #expect(sanitizer.lines.count == 2)
        #expect(sanitizer.lines.last == [Span("y")])
    }
}

@Suite("ANSI encoding of sanitized output")
struct ANSIEncodingTests {
    @Test func colourSurvivesAndEverythingElseGoes() {
        let hostile = "\u{1B}[31mred\u{1B}[0m \u{1B}]52;c;ZXZpbA==\u{07}\u{1B}]0;title\u{07}\u{1B}[2Jplain\u{1B}[1;38;5;208mbold orange\u{1B}[0m"
        let lines = OutputSanitizer.sanitize(hostile)
        #expect(ANSIEncoding.text(lines, color: false) == "red plainbold orange")
        #expect(ANSIEncoding.text(lines, color: true) == "\u{1B}[31mred\u{1B}[0m plain\u{1B}[1;38;5;208mbold orange\u{1B}[0m")
    }

    @Test func brightBackgroundAndTrueColour() {
        let style = Style(foreground: .rgb(1, 2, 3), background: .ansi(9), attributes: [.underline])
        #expect(ANSIEncoding.sgr(style) == "4;38;2;1;2;3;101")
        #expect(ANSIEncoding.sgr(.plain) == "0")
    }
}
