#ifndef CNCursesW_SHIM_H
#define CNCursesW_SHIM_H
// SwiftPM drops -D flags from pkg-config, so the wide-character API is enabled here.
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncursesw/curses.h>
#endif
