using MlGrid.Contracts;

namespace MlGrid.Governance.Tests;

public sealed class ApiKeysTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static (ApiKeyRecord Record, string Key) NewKey(Role role = Role.Reader, DateTimeOffset? expires = null, DateTimeOffset? revoked = null)
    {
        var (id, secret, key) = ApiKeys.Generate();
        var salt = ApiKeys.NewSalt();
        var record = new ApiKeyRecord(id, "ci", role, [], expires, Now.AddDays(-1), "admin", revoked, salt, ApiKeys.Hash(salt, secret), null);
        return (record, key);
    }

    private static KeyRing Ring(params ApiKeyRecord[] records) => new(1, records.ToDictionary(r => r.Id));

    [Fact]
    public void Generated_key_parses_back_into_its_id_and_secret()
    {
        var (id, secret, key) = ApiKeys.Generate();
        Assert.StartsWith(ApiKeys.Prefix, key);
        Assert.True(ApiKeys.TryParse(key, out var parsedId, out var parsedSecret));
        Assert.Equal(id, parsedId);
        Assert.Equal(secret, parsedSecret);
        Assert.True(secret.Length >= 43, "a secret carries 256 random bits");
    }

    [Theory]
    [InlineData("")]
    [InlineData("mlgk_")]
    [InlineData("mlgk_key_0123456789ab")]
    [InlineData("mlgk_key_0123456789abXsecret")]
    [InlineData("mlgk_key_0123456789zz_secret")]
    [InlineData("Bearer mlgk_key_0123456789ab_secret")]
    public void Malformed_keys_do_not_parse(string presented) => Assert.False(ApiKeys.TryParse(presented, out _, out _));

    [Fact]
    public void Same_secret_with_different_salts_hashes_differently()
    {
        Assert.NotEqual(ApiKeys.Hash(ApiKeys.NewSalt(), "s"), ApiKeys.Hash(ApiKeys.NewSalt(), "s"));
    }

    [Fact]
    public void Valid_key_gives_its_principal()
    {
        var (record, key) = NewKey(Role.Editor);
        var result = KeyCheck.Check(key, Ring(record), null, Now);
        Assert.True(result.Accepted);
        Assert.Equal(record.Id, result.Principal!.Id);
        Assert.Equal(Role.Editor, result.Principal.Role);
    }

    [Fact]
    public void Wrong_secret_for_a_known_id_is_refused_without_echoing_it()
    {
        var (record, key) = NewKey();
        var tampered = key[..^4] + "AAAA";
        var result = KeyCheck.Check(tampered, Ring(record), null, Now);
        Assert.False(result.Accepted);
        Assert.Equal(record.Id, result.KeyId);
        Assert.DoesNotContain(tampered, result.Reason);
    }

    [Fact]
    public void Revoked_and_expired_keys_are_refused_with_the_reason()
    {
        var (revoked, revokedKey) = NewKey(revoked: Now.AddMinutes(-1));
        var (expired, expiredKey) = NewKey(expires: Now);
        var ring = Ring(revoked, expired);
        Assert.Contains("revoked", KeyCheck.Check(revokedKey, ring, null, Now).Reason);
        Assert.Contains("expired", KeyCheck.Check(expiredKey, ring, null, Now).Reason);
        Assert.True(KeyCheck.Check(expiredKey, ring, null, Now.AddSeconds(-1)).Accepted);
    }

    [Fact]
    public void Bootstrap_admin_key_is_checked_before_the_ring()
    {
        var admin = "mlg_bootstrap-admin-key-0123456789"u8.ToArray();
        var result = KeyCheck.Check("mlg_bootstrap-admin-key-0123456789", KeyRing.Empty, admin, Now);
        Assert.Equal(Principal.BootstrapAdminId, result.Principal!.Id);
        Assert.False(KeyCheck.Check("mlg_bootstrap-admin-key-012345678", KeyRing.Empty, admin, Now).Accepted);
    }

    [Fact]
    public void Key_from_another_ring_is_unknown()
    {
        var (_, key) = NewKey();
        var (other, _) = NewKey();
        Assert.Equal("Invalid API key.", KeyCheck.Check(key, Ring(other), null, Now).Reason);
    }
}
