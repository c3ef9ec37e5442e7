/// Modifier keys held during a key press or mouse event.
public struct Modifiers: OptionSet, Hashable, Sendable {
    /// The bits.
    public let rawValue: UInt8
    /// Creates modifiers from their bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Shift.
    public static let shift = Modifiers(rawValue: 1 << 0)
    /// Alt (Option, Meta).
    public static let alt = Modifiers(rawValue: 1 << 1)
    /// Control.
    public static let control = Modifiers(rawValue: 1 << 2)
    /// Super (Command, Windows).
    public static let `super` = Modifiers(rawValue: 1 << 3)

    /// Modifiers from an xterm or kitty modifier parameter (1 + bits: shift 1, alt 2, ctrl 4, super 8).
    init(parameter: Int) {
        let bits = max(0, parameter - 1)
        var modifiers: Modifiers = []
        if bits & 1 != 0 { modifiers.insert(.shift) }
        if bits & 2 != 0 { modifiers.insert(.alt) }
        if bits & 4 != 0 { modifiers.insert(.control) }
        if bits & 8 != 0 { modifiers.insert(.super) }
        self = modifiers
    }
}

/// A key on the keyboard.
public enum Key: Hashable, Sendable {
    /// A key that types text; shift is already applied (`A`, not shift+`a`).
    case character(Character)
    /// Enter (Return), also the keypad's Enter.
    case enter
    /// Tab; shift+tab is `.tab` with `.shift`.
    case tab
    /// Backspace.
    case backspace
    /// Escape.
    case escape
    /// Arrow up.
    case up
    /// Arrow down.
    case down
    /// Arrow left.
    case left
    /// Arrow right.
    case right
    /// Home.
    case home
    /// End.
    case end
    /// Page up.
    case pageUp
    /// Page down.
    case pageDown
    /// Insert.
    case insert
    /// Delete (forward).
    case delete
    /// A function key, F1 and up.
    case function(Int)
}

/// A key press with the modifiers held.
public struct KeyEvent: Hashable, Sendable {
    /// The key.
    public var key: Key
    /// Modifiers held.
    public var modifiers: Modifiers

    /// Creates a key event.
    public init(_ key: Key, _ modifiers: Modifiers = []) {
        self.key = key
        self.modifiers = modifiers
    }
}

/// A mouse button.
public enum MouseButton: Hashable, Sendable {
    /// The primary (left) button.
    case left
    /// The middle button (wheel click).
    case middle
    /// The secondary (right) button.
    case right
    /// Another button, by X11 number (8 back, 9 forward, up to 11).
    case other(Int)
}

/// A mouse action at a cell.
public struct MouseEvent: Hashable, Sendable {
    /// What the mouse did.
    public enum Kind: Hashable, Sendable {
        /// A button went down.
        case press(MouseButton)
        /// A button went up (nil when the terminal does not say which, as in X10 mode).
        case release(MouseButton?)
        /// The mouse moved with a button held.
        case drag(MouseButton)
        /// The mouse moved with no button held.
        case move
        /// The wheel turned up.
        case scrollUp
        /// The wheel turned down.
        case scrollDown
        /// The wheel tilted left.
        case scrollLeft
        /// The wheel tilted right.
        case scrollRight
    }

    /// What the mouse did.
    public var kind: Kind
    /// The cell under the mouse, zero-based.
    public var position: Position
    /// Modifiers held.
    public var modifiers: Modifiers

    /// Creates a mouse event.
    public init(_ kind: Kind, x: Int, y: Int, modifiers: Modifiers = []) {
        self.kind = kind
        self.position = Position(x: x, y: y)
        self.modifiers = modifiers
    }
}

/// Something the user did at the terminal.
public enum InputEvent: Hashable, Sendable {
    /// A key press.
    case key(KeyEvent)
    /// A mouse action.
    case mouse(MouseEvent)
    /// Text pasted in one go (bracketed paste), line ends as `\n`.
    case paste(String)
    /// The terminal window gained focus.
    case focusGained
    /// The terminal window lost focus.
    case focusLost
    /// A whole escape sequence the decoder does not interpret, such as a reply to a terminal query.
    case sequence([UInt8])

    /// A key event for `key` with `modifiers`.
    public static func key(_ key: Key, _ modifiers: Modifiers = []) -> InputEvent { .key(KeyEvent(key, modifiers)) }

    /// A key event for the character `c` with `modifiers`.
    public static func char(_ c: Character, _ modifiers: Modifiers = []) -> InputEvent {
        .key(KeyEvent(.character(c), modifiers))
    }
}
