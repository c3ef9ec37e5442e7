import Testing

@testable import TUI

/// Bytes of a string, with `^[` written for ESC so sequences read as terminals document them.
func bytes(_ text: String) -> [UInt8] {
    Array(text.replacing("^[", with: "\u{1B}").utf8)
}

/// Decodes `text` in one read, then flushes as if the ESC timeout passed.
func decode(_ text: String) -> [InputEvent] {
    var decoder = InputDecoder()
    return decoder.feed(bytes(text)) + decoder.flush()
}

@Suite("Input decoder")
struct InputDecoderTests {
    // MARK: Text and control keys

    @Test func printableText() {
        #expect(decode("ab Z~") == [.char("a"), .char("b"), .char(" "), .char("Z"), .char("~")])
        #expect(decode("é中😀") == [.char("é"), .char("中"), .char("😀")])
        let family = scalars(0x1F468, 0x200D, 0x1F469, 0x200D, 0x1F467)
        #expect(decode(family) == [.char(Character(family))])
    }

    @Test func multiByteCharactersSplitAcrossReads() {
        var decoder = InputDecoder()
        let emoji = Array("😀".utf8)  // F0 9F 98 80
        #expect(decoder.feed([UInt8(ascii: "x"), emoji[0]]) == [.char("x")])
        #expect(decoder.hasPendingInput)
        #expect(decoder.feed(emoji[1...1]).isEmpty)
        #expect(decoder.feed(emoji[2...3]) == [.char("😀")])
        #expect(!decoder.hasPendingInput)
        let e = Array("é".utf8)
        #expect(decoder.feed([e[0]]).isEmpty)
        #expect(decoder.feed([e[1]]) == [.char("é")])
    }

    @Test func invalidUTF8BecomesReplacementCharacters() {
        var decoder = InputDecoder()
        #expect(decoder.feed([0xFF, UInt8(ascii: "a"), 0xC3, UInt8(ascii: "b")]) == [.char("\u{FFFD}"), .char("a"), .char("\u{FFFD}"), .char("b")])
        // A cut-off character at the end is waited for, then given up on at flush.
        #expect(decoder.feed([0xE4, 0xB8]).isEmpty)
        #expect(decoder.flush() == [.char("\u{FFFD}")])
        #expect(!decoder.hasPendingInput)
    }

    @Test(arguments: [
        (0x0D, KeyEvent(.enter)),
        (0x09, KeyEvent(.tab)),
        (0x7F, KeyEvent(.backspace)),
        (0x08, KeyEvent(.backspace, .control)),  // Ctrl-Backspace in xterm, VTE and kitty
        (0x00, KeyEvent(.character(" "), .control)),
        (0x01, KeyEvent(.character("a"), .control)),
        (0x0A, KeyEvent(.character("j"), .control)),
        (0x13, KeyEvent(.character("s"), .control)),
        (0x1A, KeyEvent(.character("z"), .control)),
        (0x1C, KeyEvent(.character("\\"), .control)),
        (0x1F, KeyEvent(.character("_"), .control)),
    ] as [(UInt8, KeyEvent)])
    func controlBytes(_ byte: UInt8, _ key: KeyEvent) {
        var decoder = InputDecoder()
        #expect(decoder.feed([byte]) == [.key(key)])
    }

    // MARK: Escape and Alt

    @Test func loneEscapeWaitsForTheTimeout() {
        var decoder = InputDecoder()
        #expect(decoder.feed([0x1B]).isEmpty)
        #expect(decoder.hasPendingInput)
        #expect(decoder.flush() == [.key(.escape)])
        #expect(!decoder.hasPendingInput)
        #expect(decoder.flush().isEmpty)
    }

    @Test func escapeThenTheRestOfASequenceInTheNextRead() {
        var decoder = InputDecoder()
        #expect(decoder.feed([0x1B]).isEmpty)
        #expect(decoder.feed(bytes("[A")) == [.key(.up)])
        #expect(decoder.feed(bytes("^[[1;")).isEmpty)
        #expect(decoder.feed(bytes("5")).isEmpty)
        #expect(decoder.feed(bytes("C")) == [.key(.right, .control)])
    }

    @Test func altIsAnEscapePrefix() {
        #expect(decode("^[x") == [.char("x", .alt)])
        #expect(decode("^[X") == [.char("X", .alt)])
        #expect(decode("^[é") == [.char("é", .alt)])
        #expect(decode("^[\r") == [.key(.enter, .alt)])
        #expect(decode("^[\u{7F}") == [.key(.backspace, .alt)])
        #expect(decode("^[\u{01}") == [.char("a", [.control, .alt])])
        #expect(decode("^[xy") == [.char("x", .alt), .char("y")])
        // ESC ESC: Escape, then whatever the second starts; ESC ESC [ A is Alt-Up (rxvt).
        #expect(decode("^[^[") == [.key(.escape), .key(.escape)])
        #expect(decode("^[^[[A") == [.key(.up, .alt)])
        #expect(decode("^[^[x") == [.key(.escape), .char("x", .alt)])
    }

    @Test func unfinishedSequencesBecomeTheKeysTypedOnFlush() {
        var decoder = InputDecoder()
        #expect(decoder.feed(bytes("^[[")).isEmpty)
        #expect(decoder.flush() == [.char("[", .alt)])
        #expect(decoder.feed(bytes("^[[1;")).isEmpty)
        #expect(decoder.flush() == [.char("[", .alt), .char("1"), .char(";")])
        #expect(decoder.feed(bytes("^[O")).isEmpty)
        #expect(decoder.flush() == [.char("O", .alt)])
        #expect(decoder.feed(bytes("^[]")).isEmpty)
        #expect(decoder.flush() == [.char("]", .alt)])
    }

    // MARK: Cursor and function keys

    @Test(arguments: [
        ("^[[A", KeyEvent(.up)), ("^[[B", KeyEvent(.down)), ("^[[C", KeyEvent(.right)), ("^[[D", KeyEvent(.left)),
        ("^[OA", KeyEvent(.up)), ("^[OB", KeyEvent(.down)), ("^[OC", KeyEvent(.right)), ("^[OD", KeyEvent(.left)),
        ("^[[H", KeyEvent(.home)), ("^[[F", KeyEvent(.end)), ("^[OH", KeyEvent(.home)), ("^[OF", KeyEvent(.end)),
        ("^[[1~", KeyEvent(.home)), ("^[[4~", KeyEvent(.end)), ("^[[7~", KeyEvent(.home)), ("^[[8~", KeyEvent(.end)),
        ("^[[2~", KeyEvent(.insert)), ("^[[3~", KeyEvent(.delete)),
        ("^[[5~", KeyEvent(.pageUp)), ("^[[6~", KeyEvent(.pageDown)),
        ("^[[Z", KeyEvent(.tab, .shift)),
        ("^[OM", KeyEvent(.enter)), ("^[Ok", KeyEvent(.character("+"))), ("^[Op", KeyEvent(.character("0"))),
    ])
    func navigationKeys(_ sequence: String, _ key: KeyEvent) {
        #expect(decode(sequence) == [.key(key)])
    }

    @Test(arguments: [
        ("^[OP", 1), ("^[OQ", 2), ("^[OR", 3), ("^[OS", 4),
        ("^[[11~", 1), ("^[[12~", 2), ("^[[13~", 3), ("^[[14~", 4),
        ("^[[15~", 5), ("^[[17~", 6), ("^[[18~", 7), ("^[[19~", 8), ("^[[20~", 9), ("^[[21~", 10),
        ("^[[23~", 11), ("^[[24~", 12), ("^[[25~", 13), ("^[[34~", 20),
        ("^[[[A", 1), ("^[[[E", 5),  // Linux console
        ("^[[57376u", 13), ("^[[57398u", 35),  // kitty
    ])
    func functionKeys(_ sequence: String, _ number: Int) {
        #expect(decode(sequence) == [.key(.function(number))])
    }

    @Test(arguments: [
        ("^[[1;2A", KeyEvent(.up, .shift)),
        ("^[[1;3B", KeyEvent(.down, .alt)),
        ("^[[1;5C", KeyEvent(.right, .control)),
        ("^[[1;6D", KeyEvent(.left, [.control, .shift])),
        ("^[[1;7H", KeyEvent(.home, [.control, .alt])),
        ("^[[1;9F", KeyEvent(.end, .super)),
        ("^[[5;5~", KeyEvent(.pageUp, .control)),
        ("^[[3;2~", KeyEvent(.delete, .shift)),
        ("^[[1;2P", KeyEvent(.function(1), .shift)),
        ("^[[1;5R", KeyEvent(.function(3), .control)),
        ("^[[13;5~", KeyEvent(.function(3), .control)),
        ("^[[24;8~", KeyEvent(.function(12), [.shift, .alt, .control])),
        ("^[[1;2Z", KeyEvent(.tab, .shift)),
        ("^[O5P", KeyEvent(.function(1), .control)),
        ("^[[1;69A", KeyEvent(.up, .control)),  // caps lock (64) is ignored
    ])
    func modifiedKeys(_ sequence: String, _ key: KeyEvent) {
        #expect(decode(sequence) == [.key(key)])
    }

    // MARK: kitty keyboard protocol and modifyOtherKeys

    @Test(arguments: [
        ("^[[13;2u", KeyEvent(.enter, .shift)),
        ("^[[13;5u", KeyEvent(.enter, .control)),
        ("^[[13;3u", KeyEvent(.enter, .alt)),
        ("^[[13u", KeyEvent(.enter)),
        ("^[[9;5u", KeyEvent(.tab, .control)),
        ("^[[127;5u", KeyEvent(.backspace, .control)),
        ("^[[27u", KeyEvent(.escape)),
        ("^[[97;5u", KeyEvent(.character("a"), .control)),
        ("^[[97;6u", KeyEvent(.character("A"), .control)),  // shift folded into the letter
        ("^[[97:65;6u", KeyEvent(.character("A"), .control)),  // shifted key reported
        ("^[[49:33;2u", KeyEvent(.character("!"))),
        ("^[[49;2u", KeyEvent(.character("1"), .shift)),  // no shifted key: shift stays
        ("^[[32;5u", KeyEvent(.character(" "), .control)),
        ("^[[1078;5u", KeyEvent(.character("ж"), .control)),
        ("^[[97;1:2u", KeyEvent(.character("a"))),  // repeat counts as a press
        ("^[[57414u", KeyEvent(.enter)),  // keypad Enter
        ("^[[57399u", KeyEvent(.character("0"))),
        ("^[[57413;5u", KeyEvent(.character("+"), .control)),
        ("^[[57417u", KeyEvent(.left)),
        ("^[[27;2;13~", KeyEvent(.enter, .shift)),  // xterm modifyOtherKeys
        ("^[[27;5;105~", KeyEvent(.character("i"), .control)),
    ])
    func kittyKeys(_ sequence: String, _ key: KeyEvent) {
        #expect(decode(sequence) == [.key(key)])
    }

    @Test func kittyReleasesAndLoneModifiersAreDropped() {
        #expect(decode("^[[97;1:3u").isEmpty)
        #expect(decode("^[[57441;2u").isEmpty)  // left shift alone
        #expect(decode("^[[57358u").isEmpty)  // caps lock
        #expect(decode("^[[57428u").isEmpty)  // media play
    }

    // MARK: Mouse

    @Test(arguments: [
        ("^[[<0;10;5M", MouseEvent(.press(.left), x: 9, y: 4)),
        ("^[[<0;10;5m", MouseEvent(.release(.left), x: 9, y: 4)),
        ("^[[<1;1;1M", MouseEvent(.press(.middle), x: 0, y: 0)),
        ("^[[<2;300;90M", MouseEvent(.press(.right), x: 299, y: 89)),
        ("^[[<2;3;4m", MouseEvent(.release(.right), x: 2, y: 3)),
        ("^[[<64;3;4M", MouseEvent(.scrollUp, x: 2, y: 3)),
        ("^[[<65;3;4M", MouseEvent(.scrollDown, x: 2, y: 3)),
        ("^[[<66;3;4M", MouseEvent(.scrollLeft, x: 2, y: 3)),
        ("^[[<67;3;4M", MouseEvent(.scrollRight, x: 2, y: 3)),
        ("^[[<32;7;8M", MouseEvent(.drag(.left), x: 6, y: 7)),
        ("^[[<34;7;8M", MouseEvent(.drag(.right), x: 6, y: 7)),
        ("^[[<35;7;8M", MouseEvent(.move, x: 6, y: 7)),
        ("^[[<4;1;1M", MouseEvent(.press(.left), x: 0, y: 0, modifiers: .shift)),
        ("^[[<8;1;1M", MouseEvent(.press(.left), x: 0, y: 0, modifiers: .alt)),
        ("^[[<16;1;1M", MouseEvent(.press(.left), x: 0, y: 0, modifiers: .control)),
        ("^[[<48;2;2M", MouseEvent(.drag(.left), x: 1, y: 1, modifiers: .control)),
        ("^[[<84;2;2M", MouseEvent(.scrollUp, x: 1, y: 1, modifiers: [.shift, .control])),
        ("^[[<128;2;2M", MouseEvent(.press(.other(8)), x: 1, y: 1)),
        ("^[[<129;2;2m", MouseEvent(.release(.other(9)), x: 1, y: 1)),
    ])
    func sgrMouse(_ sequence: String, _ event: MouseEvent) {
        #expect(decode(sequence) == [.mouse(event)])
    }

    @Test func x10Mouse() {
        var decoder = InputDecoder()
        // ESC [ M, then button + 32, column + 33, row + 33.
        #expect(decoder.feed([0x1B, 0x5B, 0x4D, 32, 33 + 4, 33 + 2]) == [.mouse(MouseEvent(.press(.left), x: 4, y: 2))])
        #expect(decoder.feed([0x1B, 0x5B, 0x4D, 35, 33, 33]) == [.mouse(MouseEvent(.release(nil), x: 0, y: 0))])
        #expect(decoder.feed([0x1B, 0x5B, 0x4D, 96, 40, 40]) == [.mouse(MouseEvent(.scrollUp, x: 7, y: 7))])
        // Split across reads.
        #expect(decoder.feed([0x1B, 0x5B, 0x4D, 34]).isEmpty)
        #expect(decoder.feed([33, 33]) == [.mouse(MouseEvent(.press(.right), x: 0, y: 0))])
    }

    @Test func wheelReleaseIsIgnored() {
        #expect(decode("^[[<64;3;4m").isEmpty)
    }

    // MARK: Paste and focus

    @Test func bracketedPasteIsOneEvent() {
        #expect(decode("x^[[200~hello ^[[A world^[[201~y") == [.char("x"), .paste("hello \u{1B}[A world"), .char("y")])
    }

    @Test func pasteNormalizesLineEnds() {
        #expect(decode("^[[200~a\r\nb\rc\nd^[[201~") == [.paste("a\nb\nc\nd")])
    }

    @Test func pasteSplitAcrossReadsAndMarkersCutInHalf() {
        var decoder = InputDecoder()
        #expect(decoder.feed(bytes("^[[20")).isEmpty)
        #expect(decoder.feed(bytes("0~print(")).isEmpty)
        #expect(decoder.isReceivingPaste)
        // The ESC timeout does not cut a paste short.
        #expect(decoder.flush().isEmpty)
        let multiByte = Array("中".utf8)
        #expect(decoder.feed([multiByte[0]]).isEmpty)
        #expect(decoder.feed(Array(multiByte[1...]) + bytes("1)^[[2")).isEmpty)
        #expect(decoder.feed(bytes("01")).isEmpty)
        #expect(decoder.feed(bytes("~^[")) == [.paste("print(中1)")])
        #expect(!decoder.isReceivingPaste)
        #expect(decoder.flush() == [.key(.escape)])
    }

    @Test func largePasteInManyReads() {
        var decoder = InputDecoder()
        var events = decoder.feed(bytes("^[[200~"))
        let line = Array("0123456789abcdef\n".utf8)
        for _ in 0..<2000 { events += decoder.feed(line) }
        events += decoder.feed(bytes("^[[201~"))
        #expect(events.count == 1)
        guard case .paste(let text) = events.first else {
            Issue.record("no paste event")
            return
        }
        #expect(text.utf8.count == 2000 * line.count)
    }

    @Test func strayPasteEndIsIgnored() {
        #expect(decode("a^[[201~b") == [.char("a"), .char("b")])
    }

    @Test func focusInAndOut() {
        #expect(decode("^[[I^[[O") == [.focusGained, .focusLost])
    }

    // MARK: Everything else

    @Test(arguments: [
        "^[[?62;22c",  // primary device attributes
        "^[[?1u",  // kitty keyboard flags
        "^[[12;40R",  // cursor position report
        "^[]11;rgb:0000/0000/0000\u{7}",  // background colour, BEL-terminated
        "^[]11;rgb:ffff/ffff/ffff^[\\",  // ST-terminated
        "^[_Gi=31;OK^[\\",  // kitty graphics reply
        "^[P1+r696e646e^[\\",  // XTGETTCAP reply
        "^[[>1;10;0c",
        "^[[1$y",
    ])
    func unknownSequencesArriveWhole(_ sequence: String) {
        #expect(decode(sequence) == [.sequence(bytes(sequence))])
    }

    @Test func mixedStream() {
        let events = decode("a^[[Ab^[[<0;1;1M\r^[[13;2u^[x^[")
        #expect(
            events == [
                .char("a"), .key(.up), .char("b"), .mouse(MouseEvent(.press(.left), x: 0, y: 0)), .key(.enter),
                .key(.enter, .shift), .char("x", .alt), .key(.escape),
            ])
    }

    @Test func everySplitPointGivesTheSameEvents() {
        let stream = bytes("hé^[[1;5A^[[<35;2;3M^[[200~p\r\nq^[[201~^[[13;2u中^[OP^[x")
        let whole = decode(String(decoding: stream, as: UTF8.self))
        #expect(whole.count == 9)
        for cut in 1..<stream.count {
            var decoder = InputDecoder()
            let events = decoder.feed(stream[..<cut]) + decoder.feed(stream[cut...]) + decoder.flush()
            #expect(events == whole, "cut at \(cut)")
        }
    }

    @Test func sequenceCancelledByCANIsDropped() {
        #expect(decode("^[]0;ti\u{18}x") == [.char("x")])
    }

    @Test func overlongJunkIsHandedOverNotHoarded() {
        var decoder = InputDecoder()
        let junk = bytes("^[[") + Array(repeating: UInt8(ascii: "1"), count: 5000)
        let events = decoder.feed(junk)
        #expect(events.count >= 1)
        #expect(decoder.feed(bytes("a")).last == .char("a"))
    }
}
