/// Turns the bytes a terminal sends into input events: keys, mouse, paste and focus.
///
/// Feed it whatever each `read` returned; a sequence cut between two reads is kept until the
/// rest arrives. A lone ESC is ambiguous (the Escape key, or the start of a sequence), so the
/// decoder never guesses: while `hasPendingInput` is true the caller waits a short time
/// (25-50 ms) for more bytes and calls `flush()` if none came. There are no timers inside.
///
/// Understood: UTF-8 text; Enter, Tab, Backspace, Escape and Ctrl-letters; Alt as an ESC prefix;
/// arrows, Home/End, Insert/Delete, PgUp/PgDn and F1-F20 in xterm, VT220, SS3 and Linux console
/// forms with xterm modifiers (`CSI 1;m A`); the kitty keyboard protocol (`CSI code;mods u`) and
/// xterm's modifyOtherKeys (`CSI 27;mods;code ~`); SGR and X10 mouse reports; bracketed paste;
/// focus in/out. Anything else arrives whole as `.sequence`.
public struct InputDecoder: Sendable {
    private var pending: [UInt8] = []
    private var pasted: [UInt8]?
    private var pasteScanned = 0

    /// Bytes an escape sequence may take before it is given up as junk.
    static let maxSequence = 4096

    /// Creates a decoder with nothing pending.
    public init() {}

    /// Whether bytes are waiting that may be the start of a sequence: wait briefly, then `flush()`.
    public var hasPendingInput: Bool { !pending.isEmpty }

    /// Whether a bracketed paste has started and its end has not arrived yet.
    public var isReceivingPaste: Bool { pasted != nil }

    /// Decodes `bytes`, returning the events they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [InputEvent] {
        pending.append(contentsOf: bytes)
        return decode(final: false)
    }

    /// Decodes what is pending as if no more bytes will follow: a lone ESC is the Escape key,
    /// ESC and a key is Alt and that key, an unfinished sequence becomes the keys typed.
    /// A paste in progress is left alone (its end marker is never ambiguous).
    public mutating func flush() -> [InputEvent] {
        guard pasted == nil else { return [] }
        return decode(final: true)
    }

    // MARK: Driving

    private enum Step {
        case events([InputEvent], next: Int)
        case startPaste(next: Int)
        case incomplete
    }

    private mutating func decode(final: Bool) -> [InputEvent] {
        var events: [InputEvent] = []
        var index = 0
        loop: while true {
            if pasted != nil {
                if index < pending.count { pasted!.append(contentsOf: pending[index...]) }
                pending.removeAll(keepingCapacity: true)
                index = 0
                guard let end = findPasteEnd() else { break loop }
                let body = pasted![..<end]
                let rest = Array(pasted![(end + Self.pasteEnd.count)...])
                events.append(.paste(Self.pasteText(body)))
                pasted = nil
                pasteScanned = 0
                pending = rest
                continue loop
            }
            guard index < pending.count else { break loop }
            switch step(at: index, final: final) {
            case .incomplete:
                break loop
            case .events(let decoded, let next):
                events.append(contentsOf: decoded)
                index = next
            case .startPaste(let next):
                pasted = []
                index = next
            }
        }
        pending.removeFirst(index)
        return events
    }

    private static let pasteEnd: [UInt8] = [0x1B, 0x5B, 0x32, 0x30, 0x31, 0x7E]  // ESC [ 2 0 1 ~

    /// Where the paste end marker starts in `pasted`, scanning only bytes not scanned before.
    private mutating func findPasteEnd() -> Int? {
        guard let body = pasted else { return nil }
        let marker = Self.pasteEnd
        var start = pasteScanned
        while start + marker.count <= body.count {
            if body[start] == marker[0] && body[start..<(start + marker.count)].elementsEqual(marker) { return start }
            start += 1
        }
        pasteScanned = max(0, body.count - marker.count + 1)
        return nil
    }

    /// Pasted bytes as text, with CR LF and CR turned into LF.
    static func pasteText(_ bytes: ArraySlice<UInt8>) -> String {
        var normalized: [UInt8] = []
        normalized.reserveCapacity(bytes.count)
        var previousCR = false
        for byte in bytes {
            if byte == 0x0A && previousCR {
                previousCR = false
                continue
            }
            previousCR = byte == 0x0D
            normalized.append(previousCR ? 0x0A : byte)
        }
        return String(decoding: normalized, as: UTF8.self)
    }

    private func step(at i: Int, final: Bool) -> Step {
        let byte = pending[i]
        switch byte {
        case 0x1B: return escape(at: i, final: final)
        case 0x20..<0x7F, 0x80...0xFF: return text(at: i, final: final)
        default: return .events([.key(Self.controlKey(byte))], next: i + 1)
        }
    }

    // MARK: Plain bytes

    /// The key a C0 control byte or DEL stands for.
    static func controlKey(_ byte: UInt8) -> KeyEvent {
        switch byte {
        case 0x0D: KeyEvent(.enter)
        case 0x09: KeyEvent(.tab)
        case 0x7F: KeyEvent(.backspace)
        case 0x08: KeyEvent(.backspace, .control)
        case 0x1B: KeyEvent(.escape)
        case 0x00: KeyEvent(.character(" "), .control)
        case 0x01...0x1A: KeyEvent(.character(Character(Unicode.Scalar(byte + 0x60))), .control)
        default: KeyEvent(.character(Character(Unicode.Scalar(byte + 0x40))), .control)  // 0x1C-0x1F: \ ] ^ _
        }
    }

    /// The number of bytes a UTF-8 sequence starting with `lead` has (1 for a byte that cannot lead).
    static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 1
        }
    }

    /// A run of printable bytes, as one key event per grapheme cluster; invalid UTF-8 becomes U+FFFD.
    private func text(at i: Int, final: Bool) -> Step {
        var end = i
        while end < pending.count, pending[end] >= 0x20, pending[end] != 0x7F, pending[end] != 0x1B { end += 1 }
        if !final && end == pending.count {
            // Keep a multi-byte character cut by the end of this read for the next one.
            var lead = end - 1
            while lead > i && lead > end - 4 && (0x80...0xBF).contains(pending[lead]) { lead -= 1 }
            let length = Self.utf8Length(pending[lead])
            if length > 1 && end - lead < length { end = lead }
        }
        if end == i { return .incomplete }
        let text = String(decoding: pending[i..<end], as: UTF8.self)
        return .events(text.map { .key(KeyEvent(.character($0))) }, next: end)
    }

    /// One key starting at `i` (the key after an Alt prefix), or nil if its bytes are not all here.
    private func singleKey(at i: Int, final: Bool) -> (KeyEvent, next: Int)? {
        let byte = pending[i]
        if byte < 0x20 || byte == 0x7F { return (Self.controlKey(byte), i + 1) }
        if byte < 0x80 { return (KeyEvent(.character(Character(Unicode.Scalar(byte)))), i + 1) }
        let length = Self.utf8Length(byte)
        var end = i + 1
        while end < pending.count && end < i + length && (0x80...0xBF).contains(pending[end]) { end += 1 }
        if end < i + length && end == pending.count && !final { return nil }
        let text = String(decoding: pending[i..<end], as: UTF8.self)
        return (KeyEvent(.character(text.first ?? "\u{FFFD}")), end)
    }

    // MARK: Escape sequences

    private func escape(at i: Int, final: Bool) -> Step {
        let n = pending.count
        guard i + 1 < n else { return final ? .events([.key(.escape)], next: i + 1) : .incomplete }
        switch pending[i + 1] {
        case UInt8(ascii: "["):
            return csi(at: i, final: final)
        case UInt8(ascii: "O"):
            return ss3(at: i, final: final)
        case UInt8(ascii: "]"), UInt8(ascii: "P"), UInt8(ascii: "_"), UInt8(ascii: "^"), UInt8(ascii: "X"):
            return stringSequence(at: i, final: final)
        case 0x1B:
            // ESC ESC [ A: Alt and a key, as rxvt sends it; otherwise the first ESC is the Escape key.
            guard i + 2 < n else { return final ? .events([.key(.escape)], next: i + 1) : .incomplete }
            guard pending[i + 2] == UInt8(ascii: "[") || pending[i + 2] == UInt8(ascii: "O") else {
                return .events([.key(.escape)], next: i + 1)
            }
            switch escape(at: i + 1, final: final) {
            case .incomplete:
                return .incomplete
            case .events(let inner, let next):
                if inner.count == 1, case .key(var key) = inner[0] {
                    key.modifiers.insert(.alt)
                    return .events([.key(key)], next: next)
                }
                return .events([.key(.escape)], next: i + 1)
            case .startPaste:
                return .events([.key(.escape)], next: i + 1)
            }
        default:
            guard let (key, next) = singleKey(at: i + 1, final: final) else { return .incomplete }
            var alt = key
            alt.modifiers.insert(.alt)
            return .events([.key(alt)], next: next)
        }
    }

    /// What an unfinished `ESC x ...` means once no more bytes will come: Alt and `x`.
    private func altFallback(at i: Int, final: Bool) -> Step {
        guard final else { return .incomplete }
        return .events([.key(KeyEvent(.character(Character(Unicode.Scalar(pending[i + 1]))), .alt))], next: i + 2)
    }

    private func csi(at i: Int, final: Bool) -> Step {
        let n = pending.count
        var j = i + 2
        guard j < n else { return altFallback(at: i, final: final) }
        if pending[j] == UInt8(ascii: "[") {
            // Linux console: ESC [ [ A .. E are F1-F5.
            guard j + 1 < n else { return altFallback(at: i, final: final) }
            let letter = pending[j + 1]
            if (UInt8(ascii: "A")...UInt8(ascii: "E")).contains(letter) {
                return .events([.key(.function(Int(letter - UInt8(ascii: "A")) + 1))], next: j + 2)
            }
            return .events([.sequence(Array(pending[i...(j + 1)]))], next: j + 2)
        }
        if pending[j] == UInt8(ascii: "M") {
            // X10 mouse: ESC [ M and three bytes, each value + 32.
            guard j + 3 < n else { return altFallback(at: i, final: final) }
            let b = Int(pending[j + 1]) - 32, x = Int(pending[j + 2]) - 33, y = Int(pending[j + 3]) - 33
            let event = Self.mouse(button: b, x: x, y: y, press: nil)
            return .events(event.map { [.mouse($0)] } ?? [], next: j + 4)
        }
        while j < n && (0x30...0x3F).contains(pending[j]) && j - i < Self.maxSequence { j += 1 }
        let parametersEnd = j
        while j < n && (0x20...0x2F).contains(pending[j]) && j - i < Self.maxSequence { j += 1 }
        if j - i >= Self.maxSequence { return .events([.sequence(Array(pending[i..<j]))], next: j) }
        guard j < n else { return altFallback(at: i, final: final) }
        let finalByte = pending[j]
        guard (0x40...0x7E).contains(finalByte) else {
            // Broken off by a byte that cannot end it: hand over what came and go on from there.
            return .events([.sequence(Array(pending[i..<j]))], next: j)
        }
        let raw = Array(pending[i...j])
        let parameters = pending[(i + 2)..<parametersEnd]
        if parametersEnd < j { return .events([.sequence(raw)], next: j + 1) }
        return csiEvent(parameters: parameters, final: finalByte, raw: raw, next: j + 1)
    }

    /// Splits CSI parameters `1;2:3` into `[[1], [2, 3]]`; an empty or odd field is nil.
    static func fields(_ bytes: ArraySlice<UInt8>) -> [[Int?]] {
        var result: [[Int?]] = [[]]
        var current: Int?
        var valid = true
        func finishValue() {
            result[result.count - 1].append(valid ? current : nil)
            current = nil
            valid = true
        }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = Int(byte - UInt8(ascii: "0"))
                let (times, overflow1) = (current ?? 0).multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(digit)
                if overflow1 || overflow2 { valid = false } else { current = sum }
            case UInt8(ascii: ":"):
                finishValue()
            case UInt8(ascii: ";"):
                finishValue()
                result.append([])
            default:
                valid = false
            }
        }
        finishValue()
        return result
    }

    private func csiEvent(parameters: ArraySlice<UInt8>, final: UInt8, raw: [UInt8], next: Int) -> Step {
        if let first = parameters.first, (0x3C...0x3F).contains(first) {
            if first == UInt8(ascii: "<") && (final == UInt8(ascii: "M") || final == UInt8(ascii: "m")) {
                let values = Self.fields(parameters.dropFirst())
                guard values.count == 3, let b = values[0][0], let x = values[1][0], let y = values[2][0] else {
                    return .events([.sequence(raw)], next: next)
                }
                let event = Self.mouse(button: b, x: x - 1, y: y - 1, press: final == UInt8(ascii: "M"))
                return .events(event.map { [.mouse($0)] } ?? [], next: next)
            }
            return .events([.sequence(raw)], next: next)
        }
        let values = Self.fields(parameters)
        let first = values[0].first ?? nil
        let modifiers = Modifiers(parameter: values.count > 1 ? (values[1].first ?? nil) ?? 1 : 1)
        func key(_ key: Key, _ extra: Modifiers = []) -> Step {
            .events([.key(KeyEvent(key, modifiers.union(extra)))], next: next)
        }
        switch final {
        case UInt8(ascii: "A"): return key(.up)
        case UInt8(ascii: "B"): return key(.down)
        case UInt8(ascii: "C"): return key(.right)
        case UInt8(ascii: "D"): return key(.left)
        case UInt8(ascii: "H"): return key(.home)
        case UInt8(ascii: "F"): return key(.end)
        case UInt8(ascii: "P"): return key(.function(1))
        case UInt8(ascii: "Q"): return key(.function(2))
        case UInt8(ascii: "S"): return key(.function(4))
        case UInt8(ascii: "R"):
            // CSI 1;m R is F3 with modifiers; anything else is a cursor position report.
            guard values.count == 2, first == 1, !modifiers.isEmpty else { return .events([.sequence(raw)], next: next) }
            return key(.function(3))
        case UInt8(ascii: "Z"): return key(.tab, .shift)
        case UInt8(ascii: "I") where parameters.isEmpty: return .events([.focusGained], next: next)
        case UInt8(ascii: "O") where parameters.isEmpty: return .events([.focusLost], next: next)
        case UInt8(ascii: "~"):
            return tilde(values, modifiers: modifiers, raw: raw, next: next)
        case UInt8(ascii: "u"):
            guard let code = first else { return .events([.sequence(raw)], next: next) }
            let shifted = values[0].count > 1 ? values[0][1] : nil
            let eventType = values.count > 1 && values[1].count > 1 ? values[1][1] ?? 1 : 1
            if eventType == 3 { return .events([], next: next) }  // key release
            var mods = modifiers
            guard let decoded = Self.kittyKey(code, shifted: shifted, modifiers: &mods) else { return .events([], next: next) }
            return .events([.key(KeyEvent(decoded, mods))], next: next)
        default:
            return .events([.sequence(raw)], next: next)
        }
    }

    private func tilde(_ values: [[Int?]], modifiers: Modifiers, raw: [UInt8], next: Int) -> Step {
        guard let number = values[0].first ?? nil else { return .events([.sequence(raw)], next: next) }
        let key: Key
        switch number {
        case 1, 7: key = .home
        case 2: key = .insert
        case 3: key = .delete
        case 4, 8: key = .end
        case 5: key = .pageUp
        case 6: key = .pageDown
        case 11...15: key = .function(number - 10)
        case 17...21: key = .function(number - 11)
        case 23...26: key = .function(number - 12)
        case 28, 29: key = .function(number - 13)
        case 31...34: key = .function(number - 14)
        case 200: return .startPaste(next: next)
        case 201: return .events([], next: next)  // a paste end with no start
        case 27:
            // xterm modifyOtherKeys: CSI 27 ; mods ; code ~
            guard values.count == 3, let code = values[2].first ?? nil else { return .events([.sequence(raw)], next: next) }
            var mods = modifiers
            guard let decoded = Self.kittyKey(code, shifted: nil, modifiers: &mods) else { return .events([], next: next) }
            return .events([.key(KeyEvent(decoded, mods))], next: next)
        default:
            return .events([.sequence(raw)], next: next)
        }
        return .events([.key(KeyEvent(key, modifiers))], next: next)
    }

    /// The key a kitty keyboard protocol code stands for; nil for keys the UI has no use for
    /// (lone modifiers, locks, media keys). Shift is folded into the character where it can be.
    static func kittyKey(_ code: Int, shifted: Int?, modifiers: inout Modifiers) -> Key? {
        switch code {
        case 13, 57414: return .enter
        case 9: return .tab
        case 8, 127: return .backspace
        case 27: return .escape
        case 57376...57398: return .function(code - 57376 + 13)
        case 57399...57408: return .character(Character(Unicode.Scalar(UInt8(ascii: "0") + UInt8(code - 57399))))
        case 57409: return .character(".")
        case 57410: return .character("/")
        case 57411: return .character("*")
        case 57412: return .character("-")
        case 57413: return .character("+")
        case 57415: return .character("=")
        case 57416: return .character(",")
        case 57417: return .left
        case 57418: return .right
        case 57419: return .up
        case 57420: return .down
        case 57421: return .pageUp
        case 57422: return .pageDown
        case 57423: return .home
        case 57424: return .end
        case 57425: return .insert
        case 57426: return .delete
        case 57344...63743: return nil
        default:
            guard code >= 0, let scalar = Unicode.Scalar(UInt32(code)), !DisplayWidth.isControl(scalar) else { return nil }
            if modifiers.contains(.shift) {
                if let shifted, shifted >= 0, let alternate = Unicode.Scalar(UInt32(shifted)) {
                    modifiers.remove(.shift)
                    return .character(Character(alternate))
                }
                let upper = String(scalar).uppercased()
                if upper.unicodeScalars.count == 1 && upper != String(scalar), let character = upper.first {
                    modifiers.remove(.shift)
                    return .character(character)
                }
            }
            return .character(Character(scalar))
        }
    }

    /// A mouse event from xterm's button byte `b`; `press` is nil for X10 (no release button).
    static func mouse(button b: Int, x: Int, y: Int, press: Bool?) -> MouseEvent? {
        guard b >= 0 else { return nil }
        var modifiers: Modifiers = []
        if b & 4 != 0 { modifiers.insert(.shift) }
        if b & 8 != 0 { modifiers.insert(.alt) }
        if b & 16 != 0 { modifiers.insert(.control) }
        let low = b & 3
        let kind: MouseEvent.Kind
        if b & 64 != 0 && b & 128 == 0 {
            if press == false { return nil }  // wheels do not release
            kind = [.scrollUp, .scrollDown, .scrollLeft, .scrollRight][low]
        } else {
            let button: MouseButton? =
                b & 128 != 0 ? .other(8 + low) : low == 3 ? nil : [MouseButton.left, .middle, .right][low]
            if b & 32 != 0 {
                kind = button.map { .drag($0) } ?? .move
            } else if let press {
                kind = press ? (button.map { .press($0) } ?? .move) : .release(button)
            } else {
                kind = button.map { .press($0) } ?? .release(nil)
            }
        }
        return MouseEvent(kind, x: max(0, x), y: max(0, y), modifiers: modifiers)
    }

    private func ss3(at i: Int, final: Bool) -> Step {
        let n = pending.count
        var j = i + 2
        guard j < n else { return altFallback(at: i, final: final) }
        var modifiers: Modifiers = []
        if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(pending[j]) {
            guard j + 1 < n else { return altFallback(at: i, final: final) }
            modifiers = Modifiers(parameter: Int(pending[j] - UInt8(ascii: "0")))
            j += 1
        }
        let letter = pending[j]
        let key: Key
        switch letter {
        case UInt8(ascii: "A"): key = .up
        case UInt8(ascii: "B"): key = .down
        case UInt8(ascii: "C"): key = .right
        case UInt8(ascii: "D"): key = .left
        case UInt8(ascii: "H"): key = .home
        case UInt8(ascii: "F"): key = .end
        case UInt8(ascii: "P"): key = .function(1)
        case UInt8(ascii: "Q"): key = .function(2)
        case UInt8(ascii: "R"): key = .function(3)
        case UInt8(ascii: "S"): key = .function(4)
        case UInt8(ascii: "M"): key = .enter
        case UInt8(ascii: "X"): key = .character("=")
        case UInt8(ascii: "j")...UInt8(ascii: "y"):
            // Application keypad: * + , - . / 0-9
            let keypad: [Character] = ["*", "+", ",", "-", ".", "/", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
            key = .character(keypad[Int(letter - UInt8(ascii: "j"))])
        default:
            return .events([.sequence(Array(pending[i...j]))], next: j + 1)
        }
        return .events([.key(KeyEvent(key, modifiers))], next: j + 1)
    }

    /// OSC, DCS, APC, PM and SOS strings (terminal replies): whole, up to their terminator.
    private func stringSequence(at i: Int, final: Bool) -> Step {
        let n = pending.count
        let isOSC = pending[i + 1] == UInt8(ascii: "]")
        var j = i + 2
        while j < n {
            let byte = pending[j]
            if byte == 0x07 && isOSC { return .events([.sequence(Array(pending[i...j]))], next: j + 1) }
            if byte == 0x18 || byte == 0x1A { return .events([], next: j + 1) }  // CAN, SUB: cancelled
            if byte == 0x1B {
                guard j + 1 < n else { break }
                if pending[j + 1] == UInt8(ascii: "\\") {
                    return .events([.sequence(Array(pending[i...(j + 1)]))], next: j + 2)
                }
                return .events([.sequence(Array(pending[i..<j]))], next: j)
            }
            j += 1
            if j - i >= Self.maxSequence { return .events([.sequence(Array(pending[i..<j]))], next: j) }
        }
        return altFallback(at: i, final: final)
    }
}
