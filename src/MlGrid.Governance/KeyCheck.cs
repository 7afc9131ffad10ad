using System.Security.Cryptography;
using System.Text;
using MlGrid.Contracts;

namespace MlGrid.Governance;

/// <summary>The outcome of checking a presented bearer key; <see cref="Reason"/> is safe to show (it never repeats the key).</summary>
public sealed record KeyCheckResult(Principal? Principal, string? Reason, string? KeyId)
{
    public bool Accepted => Principal is not null;
}

/// <summary>Checks a presented key against the bootstrap admin key and a key ring.</summary>
public static class KeyCheck
{
    public static KeyCheckResult Check(string presented, KeyRing ring, byte[]? bootstrapAdminKey, DateTimeOffset now)
    {
        if (bootstrapAdminKey is { Length: > 0 }
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), bootstrapAdminKey))
        {
            return new KeyCheckResult(Principal.BootstrapAdmin, null, Principal.BootstrapAdminId);
        }

        if (!ApiKeys.TryParse(presented, out var id, out var secret))
        {
            return new KeyCheckResult(null, "Invalid API key.", null);
        }

        if (!ring.Keys.TryGetValue(id, out var record) || !ApiKeys.Matches(record, secret))
        {
            return new KeyCheckResult(null, "Invalid API key.", id);
        }

        if (record.RevokedAt is { } revoked)
        {
            return new KeyCheckResult(null, $"API key '{record.Name}' ({record.Id}) was revoked at {revoked:u}; ask an admin for a new key.", id);
        }

        if (record.ExpiresAt is { } expires && expires <= now)
        {
            return new KeyCheckResult(null, $"API key '{record.Name}' ({record.Id}) expired at {expires:u}; ask an admin for a new key.", id);
        }

        return new KeyCheckResult(new Principal(record.Id, record.Name, record.Role, record.Endpoints), null, id);
    }
}
