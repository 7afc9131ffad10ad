using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using MlGrid.Contracts;

namespace MlGrid.Governance;

/// <summary>
/// API key secrets: <c>mlgk_&lt;id&gt;_&lt;secret&gt;</c>, where the id finds the record and the secret (256 random bits) is
/// checked against a salted SHA-256. A fast hash is enough for secrets this long (nothing to guess from a dictionary);
/// a slow one would cost every inference call.
/// </summary>
public static class ApiKeys
{
    public const string Prefix = "mlgk_";
    private const int IdLength = 16;

    /// <summary>A new key id and secret, and the full key a caller sends.</summary>
    public static (string Id, string Secret, string Key) Generate()
    {
        var id = "key_" + RandomNumberGenerator.GetHexString(IdLength - 4, lowercase: true);
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        return (id, secret, Format(id, secret));
    }

    public static string Format(string id, string secret) => $"{Prefix}{id}_{secret}";

    /// <summary>Splits a presented key into id and secret; false when it is not an MlGrid key at all.</summary>
    public static bool TryParse(string? presented, [NotNullWhen(true)] out string? id, [NotNullWhen(true)] out string? secret)
    {
        id = null;
        secret = null;
        if (presented is null || !presented.StartsWith(Prefix, StringComparison.Ordinal) || presented.Length <= Prefix.Length + IdLength + 1)
        {
            return false;
        }

        var candidate = presented.Substring(Prefix.Length, IdLength);
        if (presented[Prefix.Length + IdLength] != '_' || !candidate.StartsWith("key_", StringComparison.Ordinal)
            || !candidate.AsSpan(4).ContainsOnlyHex())
        {
            return false;
        }

        id = candidate;
        secret = presented[(Prefix.Length + IdLength + 1)..];
        return true;
    }

    public static string NewSalt() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static string Hash(string salt, string secret)
    {
        var saltBytes = Convert.FromHexString(salt);
        var secretBytes = Encoding.UTF8.GetBytes(secret);
        var input = new byte[saltBytes.Length + secretBytes.Length];
        saltBytes.CopyTo(input, 0);
        secretBytes.CopyTo(input, saltBytes.Length);
        return Convert.ToHexStringLower(SHA256.HashData(input));
    }

    /// <summary>Constant-time check of a presented secret against the stored salted hash.</summary>
    public static bool Matches(ApiKeyRecord record, string secret) =>
        CryptographicOperations.FixedTimeEquals(
            Convert.FromHexString(Hash(record.Salt, secret)),
            Convert.FromHexString(record.Hash));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

file static class HexSpan
{
    public static bool ContainsOnlyHex(this ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
