import CCurl
import CGit2
import CNCursesW
import CPNG
import CSQLite3
import CZMQ
import Testing

/// Each Debian library links through its module map and is a version we support.
struct SystemLibraryTests {
    @Test func libzmqSpeaksZMTP3() {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        #expect(major >= 4)
    }

    @Test func sqliteHasWhatGovernanceNeeds() {
        #expect(sqlite3_libversion_number() >= 3_040_000)
        // The authorizer and progress handler are compiled in (they are not optional in SQLite).
        #expect(sqlite3_compileoption_used("OMIT_AUTHORIZATION") == 0)
        #expect(sqlite3_compileoption_used("OMIT_PROGRESS_CALLBACK") == 0)
    }

    @Test func ncursesIsTheWideCharacterBuild() {
        let version = String(cString: curses_version())
        #expect(version.hasPrefix("ncurses 6"))
    }

    @Test func libgit2Initializes() {
        #expect(git_libgit2_init() >= 1)
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        git_libgit2_version(&major, &minor, &patch)
        #expect(major == 1 && minor >= 5)
        git_libgit2_shutdown()
    }

    @Test func libcurlHasHTTPS() {
        let info = curl_version_info(CURLversion(rawValue: 10))!.pointee
        #expect(info.features & Int32(CURL_VERSION_SSL) != 0)
    }

    @Test func libpngHasTheSimplifiedReadAPI() {
        // png_image_begin_read_from_memory and friends came with 1.6.
        #expect(png_access_version_number() >= 10600)
    }
}
