internal import CNCursesW

/// The terminal UI: state renders into an in-memory screen; ncurses only paints it.
public enum TUIModule {
    /// The ncurses library version this build links against.
    public static var ncursesVersion: String { String(cString: curses_version()) }
}
