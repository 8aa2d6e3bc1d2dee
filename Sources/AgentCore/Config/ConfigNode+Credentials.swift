extension ConfigMapping {
    static let authorizationKeys = ["bearer_token", "bearer_token_file", "basic_auth"]

    /// `bearer_token`, `bearer_token_file` or `basic_auth`, shared by endpoints and outputs.
    func authorization() throws(ConfigError) -> Authorization? {
        let mapping = self
        var found: [(String, Authorization)] = []
        if let node = mapping["bearer_token"] { found.append((node.path, .bearer(Secret(try node.string())))) }
        if let node = mapping["bearer_token_file"] { found.append((node.path, .bearer(try node.secretFile()))) }
        if let node = mapping["basic_auth"] {
            let basic = try node.mapping(allowed: ["username", "password", "password_file"])
            let password: Secret
            switch (basic["password"], basic["password_file"]) {
            case (let inline?, nil): password = Secret(try inline.string())
            case (nil, let file?): password = try file.secretFile()
            default: throw node.error("\(node.path) needs exactly one of \"password\" or \"password_file\"")
            }
            found.append((node.path, .basic(username: try basic.required("username").string(), password: password)))
        }
        guard found.count <= 1 else {
            throw mapping.node.error(
                "\(mapping.node.name) sets both \(found[0].0) and \(found[1].0); choose one way to authenticate")
        }
        return found.first?.1
    }
}
