/// Reads the dates libcurl's OpenSSL backend prints in `CURLINFO_CERTINFO` ("Expire date:Nov  5
/// 08:00:00 2026 GMT", OpenSSL's `ASN1_TIME_print` form).
enum CertificateDate {
    static func expiry(fromCertificateLines lines: [String]) -> Timestamp? {
        lines.lazy.compactMap { line -> Timestamp? in
            guard line.hasPrefix("Expire date:") else { return nil }
            return parse(String(line.dropFirst("Expire date:".count))).map(Timestamp.init(unixSeconds:))
        }.first
    }

    /// Unix seconds.
    static func parse(_ text: String) -> Int64? {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let parts = text.split(separator: " ")
        guard parts.count == 5, parts[4] == "GMT", let monthIndex = months.firstIndex(of: String(parts[0])),
            let day = Int(parts[1]), let year = Int(parts[3])
        else { return nil }
        let clock = parts[2].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day) else { return nil }
        let days = daysSinceEpoch(year: year, month: monthIndex + 1, day: day)
        return Int64(days) * 86400 + Int64(clock[0] * 3600 + clock[1] * 60 + clock[2])
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }
}
