import ArgumentParser
import CoreSupport
import Git

struct GitBranch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branch", abstract: "List, create or delete branches.",
        discussion: """
            wb git branch               list local branches (-a: remote-tracking ones too)
            wb git branch NAME [REV]    create NAME at REV (default HEAD) without switching
            wb git branch -d NAME       delete NAME (refused when its commits are not in HEAD; -D forces)
            \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @Flag(name: .shortAndLong, help: "Also list remote-tracking branches.")
    var all = false
    @Flag(name: .customShort("d"), help: "Delete the branch.")
    var delete = false
    @Flag(name: .customShort("D"), help: "Delete the branch even if its commits are not in HEAD.")
    var forceDelete = false
    @Argument(help: "A branch to create or delete.")
    var name: String?
    @Argument(help: "Where to create it (default HEAD).")
    var start: String = "HEAD"

    func run() throws {
        do {
            let repo = try options.open()
            if let name {
                if delete || forceDelete {
                    try repo.deleteBranch(name, force: forceDelete)
                    if options.json { printJSON(["deleted": .string(name)]) } else { print("Deleted branch \(name).") }
                } else {
                    let branch = try repo.createBranch(name, at: start)
                    if options.json { printJSON(branch.json) } else { print("Created branch \(name) at \(branch.commit?.short ?? "?").") }
                }
                return
            }
            if delete || forceDelete { throw ValidationError("-d and -D need a branch name") }
            let branches = try repo.branches(includeRemote: all)
            if options.json {
                printJSON(["branches": .array(branches.map(\.json))])
                return
            }
            for branch in branches {
                let upstream = branch.upstream.map { " [\($0)]" } ?? ""
                print("\(branch.isHead ? "*" : " ") \(branch.isRemote ? "remotes/" : "")\(branch.name) \(branch.commit?.short ?? "")\(upstream)")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw options.failure(error, "branch")
        }
    }
}

struct GitSwitch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch", abstract: "Switch to a branch (-c creates it; --detach goes to any revision).",
        discussion: """
            Refuses, changing nothing, when local changes would be overwritten (exit 33): commit, stash or \
            restore them first. Changes to files the switch does not touch come along. \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @Flag(name: [.customShort("c"), .customLong("create")], help: "Create the branch at HEAD first.")
    var create = false
    @Flag(help: "Detach HEAD at a revision instead of switching to a branch.")
    var detach = false
    @Argument(help: "The branch (or, with --detach, the revision).")
    var target: String

    func run() throws {
        do {
            let repo = try options.open()
            try repo.switchTo(target, create: create, detach: detach)
            let head = try repo.head()
            if options.json { printJSON(["head": head.json]) } else {
                print(detach ? "HEAD is now at \(head.commit?.short ?? target) (detached)" : "Switched to \(create ? "a new " : "")branch \(target)")
            }
        } catch {
            throw options.failure(error, "switch")
        }
    }
}

struct GitStash: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stash", abstract: "Put local changes aside and bring them back.",
        discussion: """
            wb git stash [push] [-m MSG] [-u]   save changes (with -u, untracked files too) and clean the tree
            wb git stash list                   the stash, newest first
            wb git stash pop|apply [N]          bring back entry N (default 0); pop also drops it
            wb git stash drop [N]               forget entry N
            \(GitExit.help)
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable { case push, list, pop, apply, drop }

    @OptionGroup var options: GitOptions
    @Argument(help: "push (default), list, pop, apply or drop.")
    var action: Action = .push
    @Argument(help: "The stash entry for pop, apply and drop.")
    var entry: Int = 0
    @Option(name: .shortAndLong, help: "A message for the stash entry.")
    var message: String?
    @Flag(name: [.customShort("u"), .customLong("include-untracked")], help: "Stash untracked files too.")
    var includeUntracked = false

    func run() throws {
        do {
            let repo = try options.open()
            switch action {
            case .push:
                let id = try repo.stash(message: message, includeUntracked: includeUntracked)
                if options.json { printJSON(["stashed": .string(id.hex)]) } else { print("Saved local changes (stash@{0}).") }
            case .list:
                let entries = try repo.stashes()
                if options.json { printJSON(["stashes": .array(entries.map(\.json))]) } else {
                    for e in entries { print("stash@{\(e.index)}: \(e.message)") }
                }
            case .pop, .apply:
                try repo.applyStash(index: entry, drop: action == .pop)
                if options.json { printJSON([(action == .pop ? "popped" : "applied"): .int(entry)]) } else {
                    print("Applied stash@{\(entry)}\(action == .pop ? " and dropped it" : "").")
                }
            case .drop:
                try repo.dropStash(index: entry)
                if options.json { printJSON(["dropped": .int(entry)]) } else { print("Dropped stash@{\(entry)}.") }
            }
        } catch {
            throw options.failure(error, "stash")
        }
    }
}

struct GitMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Merge a branch or revision into the current branch.",
        discussion: """
            Fast-forwards when possible, else commits the merge with your identity. Notebooks are merged cell \
            by cell: when both sides changed a cell differently, the merge stops (exit 32), the notebook stays \
            valid (ours in conflicting cells, with base/ours/theirs in the cell's metadata) and \
            `wb git resolve PATH --cell N --ours|--theirs|--both` settles each cell; then `wb git commit`. \
            `--abort` abandons a stopped merge. \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @Flag(help: "Abandon the merge in progress (index and files go back to HEAD).")
    var abort = false
    @Option(name: .shortAndLong, help: "The merge commit's message.")
    var message: String?
    @Argument(help: "The branch or revision to merge.")
    var revision: String?

    func run() throws {
        do {
            let repo = try options.open()
            if abort {
                try repo.abortMerge()
                if options.json { printJSON(["aborted": true]) } else { print("Merge aborted.") }
                return
            }
            guard let revision else { throw ValidationError("name the branch or revision to merge") }
            let outcome = try repo.merge(revision, message: message)
            try GitText.report(outcome, json: options.json)
        } catch let code as ExitCode {
            throw code
        } catch let error as ValidationError {
            throw error
        } catch {
            throw options.failure(error, "merge")
        }
    }
}

struct GitResolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve", abstract: "Settle a merge conflict: a notebook per cell, another file by side.",
        discussion: """
            wb git resolve nb.ipynb --cell 3 --theirs   cell 3 takes their version
            wb git resolve nb.ipynb --both              every conflicting cell: ours, then theirs
            wb git resolve notes.txt --ours             the whole file takes our version
            wb git resolve nb.ipynb --list              show the conflicting cells
            When no conflict is left in the file it is staged. Cells are numbered from 1 as `wb git diff` \
            and the merge report number them. \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @Argument(help: "The conflicted file.")
    var path: String
    @Option(help: "The cell to resolve (1-based); all conflicting cells when omitted.")
    var cell: Int?
    @Flag(help: "Which version to keep.")
    var choice: Choice?
    @Flag(help: "List the conflicting cells instead.")
    var list = false

    enum Choice: String, EnumerableFlag {
        case ours, theirs, both
    }

    func run() throws {
        do {
            let repo = try options.open()
            let relative = try options.repoPath(repo, path)
            if list {
                let conflicts = try repo.notebookConflicts(relative)
                if options.json { printJSON(["path": .string(relative), "cells": .array(conflicts.map(\.json))]) } else {
                    print(GitText.conflicts(relative, conflicts), terminator: "")
                }
                return
            }
            guard let choice else { throw ValidationError("choose --ours, --theirs or --both (or --list)") }
            let remaining = try repo.resolve(relative, cell: cell, choice: NotebookMerger.Choice(rawValue: choice.rawValue)!)
            if options.json {
                printJSON(["path": .string(relative), "remaining": .array(remaining.map(\.json)), "staged": .bool(remaining.isEmpty)])
            } else if remaining.isEmpty {
                print("\(relative): resolved and staged.")
            } else {
                print("\(relative): \(remaining.count) conflicting cell(s) left: \(remaining.map { String($0.index + 1) }.joined(separator: ", ")).")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw options.failure(error, "resolve")
        }
    }
}

extension GitText {
    /// Prints a merge outcome; conflicts end with exit 32.
    static func report(_ outcome: MergeOutcome, json: Bool) throws {
        if json {
            printJSON(outcome.json)
        } else {
            switch outcome {
            case .upToDate: print("Already up to date.")
            case .fastForward(let id): print("Fast-forward to \(id.short).")
            case .merged(let commit): print("Merged: \(commit.id.short) \(commit.summary)")
            case .conflicts(let files, let notebooks):
                print("Merge stopped with conflicts in:")
                for file in files {
                    if let report = notebooks.first(where: { $0.path == file }) {
                        print(conflicts(file, report.cells), terminator: "")
                    } else {
                        print("  \(file)")
                    }
                }
                print("Resolve (`wb git resolve PATH --cell N --ours|--theirs|--both`, or edit and `wb git add`), then `wb git commit`.")
            }
        }
        if case .conflicts = outcome { throw GitExit.conflicts }
    }

    static func conflicts(_ path: String, _ cells: [CellConflict]) -> String {
        var out = "  \(path) (notebook; the file is valid, ours is shown in conflicting cells)\n"
        for cell in cells {
            let what = cell.fields.contains("deleted")
                ? (cell.ours == nil ? "deleted by us, changed by them" : "changed by us, deleted by them")
                : "both changed " + cell.fields.joined(separator: ", ")
            out += "    cell \(cell.index + 1)\(cell.id.map { " (id \($0))" } ?? ""): \(what)\n"
        }
        return out
    }
}
