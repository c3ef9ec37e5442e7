import CGit2
public import CoreSupport

/// A configured remote.
public struct RemoteInfo: Sendable, Equatable {
    public var name: String
    public var url: String
    public var pushURL: String?

    public var json: JSON {
        ["name": .string(name), "url": .string(url), "push_url": pushURL.map(JSON.string) ?? .null]
    }
}

/// What a fetch brought.
public struct FetchResult: Sendable, Equatable {
    public var remote: String
    public var receivedObjects: Int
    public var receivedBytes: Int
    /// Remote-tracking refs that moved: name, old and new commit.
    public var updated: [(ref: String, old: ObjectID?, new: ObjectID?)]

    public static func == (a: FetchResult, b: FetchResult) -> Bool {
        a.remote == b.remote && a.receivedObjects == b.receivedObjects && a.updated.map(\.ref) == b.updated.map(\.ref)
    }

    public var json: JSON {
        [
            "remote": .string(remote), "received_objects": .int(receivedObjects), "received_bytes": .int(receivedBytes),
            "updated": .array(updated.map { ["ref": .string($0.ref), "old": $0.old.map { .string($0.hex) } ?? .null, "new": $0.new.map { .string($0.hex) } ?? .null] }),
        ]
    }
}

extension Repository {
    // MARK: - Remotes

    /// The configured remotes, by name.
    public func remotes() throws(GitError) -> [RemoteInfo] {
        var names = git_strarray()
        try check(git_remote_list(&names, pointer), "cannot list remotes", path: gitDirectory)
        defer { git_strarray_dispose(&names) }
        var result: [RemoteInfo] = []
        for name in strings(of: names) {
            let remote = try lookupRemote(name)
            defer { git_remote_free(remote) }
            result.append(
                RemoteInfo(
                    name: name, url: git_remote_url(remote).map { String(cString: $0) } ?? "",
                    pushURL: git_remote_pushurl(remote).map { String(cString: $0) }))
        }
        return result.sorted { $0.name < $1.name }
    }

    /// Adds a remote with the usual fetch refspec.
    public func addRemote(_ name: String, url: String) throws(GitError) {
        var remote: OpaquePointer?
        let rc = git_remote_create(&remote, pointer, name, url)
        if rc == GIT_EEXISTS.rawValue { throw GitError(.exists, "a remote named \(name) already exists", path: gitDirectory, libgit2Code: rc) }
        try check(rc, "cannot add remote \(name)", path: gitDirectory)
        git_remote_free(remote)
    }

    /// Removes a remote and its remote-tracking branches.
    public func removeRemote(_ name: String) throws(GitError) {
        let rc = git_remote_delete(pointer, name)
        if rc == GIT_ENOTFOUND.rawValue { throw GitError(.notFound, "no remote named \(name)", path: gitDirectory, libgit2Code: rc) }
        try check(rc, "cannot remove remote \(name)", path: gitDirectory)
    }

    /// Changes a remote's URL.
    public func setRemoteURL(_ name: String, url: String) throws(GitError) {
        guard try remotes().contains(where: { $0.name == name }) else {
            throw GitError(.notFound, "no remote named \(name)", path: gitDirectory)
        }
        try check(git_remote_set_url(pointer, name, url), "cannot set the URL of \(name)", path: gitDirectory)
    }

    func lookupRemote(_ name: String) throws(GitError) -> OpaquePointer? {
        var remote: OpaquePointer?
        let rc = git_remote_lookup(&remote, pointer, name)
        if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EINVALIDSPEC.rawValue {
            throw GitError(.notFound, "no remote named \(name) (see `wb git remote`)", path: gitDirectory, libgit2Code: rc)
        }
        try check(rc, "cannot read remote \(name)", path: gitDirectory)
        return remote
    }

    /// The credential settings (`credential.helper`, `credential.<url>.helper`, ...) that apply to `url`.
    func credentialConfig(for url: String) -> CredentialConfig {
        (try? withConfigSnapshot { config throws(GitError) in CredentialConfig.read(config, url: url) }) ?? CredentialConfig()
    }

    /// The https settings (`http.sslCAInfo`...) for `url`, with its CA certificates loaded.
    func preparedTLS(for url: String) throws(GitError) -> TLSSettings {
        let settings = (try? withConfigSnapshot { config throws(GitError) in TLSSettings.read(config, url: url) }) ?? TLSSettings.read(nil, url: url)
        try Certificates.prepare(settings, url: url)
        return settings
    }

    // MARK: - Fetch, pull, push

    /// Fetches from a remote (default `origin`), updating its remote-tracking branches.
    @discardableResult
    public func fetch(_ remoteName: String = "origin", progress: ((TransferProgress) -> Void)? = nil) throws(GitError) -> FetchResult {
        let remote = try lookupRemote(remoteName)
        defer { git_remote_free(remote) }
        let before = try remoteTrackingRefs(remoteName)
        var options = git_fetch_options()
        git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
        let url = git_remote_url(remote).map { String(cString: $0) } ?? ""
        let session = RemoteSession(
            url: url, helpers: { [self] url in credentialConfig(for: url) }, tls: try preparedTLS(for: url), progress: progress)
        session.install(&options.callbacks)
        let rc = withExtendedLifetime(session) { git_remote_fetch(remote, nil, &options, "fetch") }
        try checkRemote(rc, "cannot fetch from \(remoteName)", remote: remote)
        session.approve()
        let stats = git_remote_stats(remote)!.pointee
        let after = try remoteTrackingRefs(remoteName)
        var updated: [(String, ObjectID?, ObjectID?)] = []
        for (ref, id) in after.sorted(by: { $0.key < $1.key }) where before[ref] != id { updated.append((ref, before[ref], id)) }
        return FetchResult(
            remote: remoteName, receivedObjects: Int(stats.received_objects), receivedBytes: stats.received_bytes, updated: updated)
    }

    private func remoteTrackingRefs(_ remote: String) throws(GitError) -> [String: ObjectID] {
        var refs: [String: ObjectID] = [:]
        for branch in try branches(includeRemote: true) where branch.isRemote && branch.name.hasPrefix(remote + "/") {
            if let commit = branch.commit { refs[branch.name] = commit }
        }
        return refs
    }

    /// Fetches, then merges the current branch's upstream (default `REMOTE/BRANCH`), as `git pull` does.
    public func pull(_ remoteName: String? = nil, branch: String? = nil, progress: ((TransferProgress) -> Void)? = nil) throws(GitError)
        -> MergeOutcome
    {
        _ = try requireWorkingDirectory("pull")
        let head = try head()
        guard let current = head.branchName else {
            throw GitError(.invalid, "HEAD is detached: switch to a branch before pulling", path: workingDirectory)
        }
        let upstream = try branches().first { $0.name == current }?.upstream
        let remote = remoteName ?? upstream.flatMap { $0.split(separator: "/").first.map(String.init) } ?? "origin"
        try fetch(remote, progress: progress)
        let target = branch.map { "\(remote)/\($0)" } ?? (remoteName == nil ? upstream : nil) ?? "\(remote)/\(current)"
        let ref = "refs/remotes/" + target
        var probe: OpaquePointer?
        let rc = git_reference_lookup(&probe, pointer, ref)
        git_reference_free(probe)
        if rc == GIT_ENOTFOUND.rawValue {
            throw GitError(.notFound, "\(remote) has no branch \(target.dropFirst(remote.count + 1)) to pull", path: workingDirectory, libgit2Code: rc)
        }
        try check(rc, "cannot read \(ref)", path: gitDirectory)
        let outcome = try merge(ref, message: "Merge branch '\(target.dropFirst(remote.count + 1))' of \(try remotes().first { $0.name == remote }?.url ?? remote)")
        if case .unborn = head {} else if upstream == nil { try setUpstream(current, to: target) }
        return outcome
    }

    /// Pushes a local branch (default the current one) to the same name on a remote (default `origin`).
    /// A rejected update (not a fast-forward) is `.nonFastForward`; the branch then tracks the remote one.
    public func push(_ remoteName: String = "origin", branch: String? = nil, force: Bool = false, progress: ((TransferProgress) -> Void)? = nil)
        throws(GitError)
    {
        let name: String
        if let branch { name = branch } else {
            guard let current = try head().branchName else {
                throw GitError(.invalid, "HEAD is detached: name the branch to push", path: gitDirectory)
            }
            name = current
        }
        if case .unborn(let b) = try head(), b == name {
            throw GitError(.notFound, "\(name) has no commits to push yet", path: gitDirectory)
        }
        let remote = try lookupRemote(remoteName)
        defer { git_remote_free(remote) }
        var options = git_push_options()
        git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION))
        let url = (git_remote_pushurl(remote) ?? git_remote_url(remote)).map { String(cString: $0) } ?? ""
        let session = RemoteSession(
            url: url, helpers: { [self] url in credentialConfig(for: url) }, tls: try preparedTLS(for: url), progress: progress)
        session.install(&options.callbacks)
        let refspec = (force ? "+" : "") + "refs/heads/\(name):refs/heads/\(name)"
        let rc = withExtendedLifetime(session) {
            (try? withStrarray([refspec]) { specs throws(GitError) in git_remote_push(remote, &specs, &options) }) ?? -1
        }
        if rc == GIT_ENONFASTFORWARD.rawValue {
            throw GitError(
                .nonFastForward,
                "\(remoteName) rejected \(name): it has commits you do not have. Pull (`wb git pull`) and push again",
                path: gitDirectory, libgit2Code: rc)
        }
        try checkRemote(rc, "cannot push \(name) to \(remoteName)", remote: remote)
        session.approve()
        if let refusal = session.rejected.first {
            let nonFF = refusal.reason.contains("fast-forward") || refusal.reason.contains("fetch first")
            throw GitError(
                nonFF ? .nonFastForward : .failed,
                "\(remoteName) rejected \(refusal.ref): \(refusal.reason)" + (nonFF ? ". Pull (`wb git pull`) and push again" : ""),
                path: gitDirectory)
        }
        if try branches().first(where: { $0.name == name })?.upstream == nil { try setUpstream(name, to: "\(remoteName)/\(name)") }
    }

    /// Makes a local branch track a remote-tracking branch (`origin/main`).
    public func setUpstream(_ branch: String, to upstream: String) throws(GitError) {
        var ref: OpaquePointer?
        try check(git_branch_lookup(&ref, pointer, branch, GIT_BRANCH_LOCAL), "no branch named \(branch)", path: gitDirectory)
        defer { git_reference_free(ref) }
        try check(git_branch_set_upstream(ref, upstream), "cannot make \(branch) track \(upstream)", path: gitDirectory)
    }

    private func checkRemote(_ rc: Int32, _ what: String, remote: OpaquePointer?) throws(GitError) {
        guard rc < 0 else { return }
        var error = lastError(rc, what, path: git_remote_url(remote).map { String(cString: $0) })
        if error.code == .failed || error.code == .notFound || error.code == .corrupt {
            let lower = error.message.lowercased()
            if lower.contains("auth") || lower.contains("credential") { error.code = .authentication }
            else if error.libgit2Class == Int32(GIT_ERROR_OS.rawValue) || lower.contains("could not find repository")
                || lower.contains("not found") || lower.contains("failed to resolve")
            {
                error.code = .network
            }
        }
        throw error
    }

    /// Clones a repository (a path, `file://`, `https://` or ssh URL) into `path`.
    ///
    /// `config` entries are written to the new repository's configuration before anything is fetched
    /// (as `git clone -c KEY=VALUE`), so a credential helper given there is used for the clone itself.
    public static func clone(
        _ url: String, to path: String, branch: String? = nil, bare: Bool = false, config: [(key: String, value: String)] = [],
        progress: ((TransferProgress) -> Void)? = nil
    ) throws(GitError) -> Repository {
        LibGit2.ensure()
        if FileIO.exists(path), !FileIO.list(path).isEmpty {
            throw GitError(.exists, "\(path) already exists and is not empty", path: path)
        }
        var options = git_clone_options()
        git_clone_options_init(&options, UInt32(GIT_CLONE_OPTIONS_VERSION))
        options.bare = bare ? 1 : 0
        options.checkout_opts.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue
        // The new repository is created by us, so its configuration (global, plus `config`) answers for credentials.
        let creation = CloneCreation(config: config)
        options.repository_cb = { out, path, bare, payload in
            Unmanaged<CloneCreation>.fromOpaque(payload!).takeUnretainedValue().create(out, path: path, bare: bare)
        }
        options.repository_cb_payload = Unmanaged.passUnretained(creation).toOpaque()
        // The new repository's configuration does not exist yet: the user's, with the clone's `config` on top.
        let tls = CloneCreation.userTLSSettings(for: url, overrides: config)
        try Certificates.prepare(tls, url: url)
        let session = RemoteSession(url: url, helpers: { url in creation.credentialConfig(for: url) }, tls: tls, progress: progress)
        session.install(&options.fetch_opts.callbacks)
        var raw: OpaquePointer?
        let branchCString = branch.map { strdupCString($0) }
        defer { branchCString.map { freeCString($0) } }
        if let branchCString { options.checkout_branch = UnsafePointer(branchCString) }
        let rc = withExtendedLifetime((session, creation)) { git_clone(&raw, url, path, &options) }
        if rc < 0 {
            var error = creation.failure ?? lastError(rc, "cannot clone \(url)", path: url)
            if error.code == .failed || error.code == .notFound || error.code == .corrupt {
                let lower = error.message.lowercased()
                error.code = lower.contains("auth") || lower.contains("credential") ? .authentication : .network
            }
            throw error
        }
        session.approve()
        return Repository(pointer: raw!)
    }
}

/// Creates the repository a clone fills, and writes the clone's `-c` settings into it first.
private final class CloneCreation {
    let config: [(key: String, value: String)]
    /// The repository being cloned into (owned by libgit2's clone), once created.
    var repository: OpaquePointer?
    var failure: GitError?

    init(config: [(key: String, value: String)]) { self.config = config }

    func create(_ out: UnsafeMutablePointer<OpaquePointer?>?, path: UnsafePointer<CChar>?, bare: Int32) -> Int32 {
        var repo: OpaquePointer?
        let rc = git_repository_init(&repo, path, UInt32(bare))
        if rc < 0 { return rc }
        if !config.isEmpty {
            var settings: OpaquePointer?
            var local: OpaquePointer?
            var failed = git_repository_config(&settings, repo)
            if failed == 0 { failed = git_config_open_level(&local, settings, GIT_CONFIG_LEVEL_LOCAL) }
            for (key, value) in config where failed == 0 {
                failed = git_config_set_string(local, key, value)
                if failed < 0 { failure = lastError(failed, "cannot set \(key) in the new repository", path: path.map { String(cString: $0) }) }
            }
            git_config_free(local)
            git_config_free(settings)
            if failed < 0 {
                git_repository_free(repo)
                return failed
            }
        }
        repository = repo
        out?.pointee = repo
        return 0
    }

    /// The https settings for `url` from the user's configuration and `overrides`.
    static func userTLSSettings(for url: String, overrides: [(key: String, value: String)]) -> TLSSettings {
        var config: OpaquePointer?
        guard git_config_open_default(&config) == 0 else { return TLSSettings.read(nil, url: url, overrides: overrides) }
        defer { git_config_free(config) }
        var snapshot: OpaquePointer?
        guard git_config_snapshot(&snapshot, config) == 0 else { return TLSSettings.read(nil, url: url, overrides: overrides) }
        defer { git_config_free(snapshot) }
        return TLSSettings.read(snapshot, url: url, overrides: overrides)
    }

    /// The credential settings for `url`: the new repository's (which includes global ones), else the global ones.
    func credentialConfig(for url: String) -> CredentialConfig {
        var config: OpaquePointer?
        let rc = repository.map { git_repository_config_snapshot(&config, $0) } ?? git_config_open_default(&config)
        guard rc == 0 else { return CredentialConfig() }
        defer { git_config_free(config) }
        if repository == nil {
            var snapshot: OpaquePointer?
            guard git_config_snapshot(&snapshot, config) == 0 else { return CredentialConfig() }
            defer { git_config_free(snapshot) }
            return CredentialConfig.read(snapshot, url: url)
        }
        return CredentialConfig.read(config, url: url)
    }
}
