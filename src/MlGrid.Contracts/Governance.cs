namespace MlGrid.Contracts;

/// <summary>The four roles a key (or an Entra ID app role) carries, from least to most privileged.</summary>
[GenerateSerializer, Alias("mlgrid.role")]
public enum Role
{
    /// <summary>Inference only, optionally on a list of endpoints.</summary>
    Predictor = 0,

    /// <summary>Reads everything except keys and the audit trail.</summary>
    Reader = 1,

    /// <summary>Reads, and writes models, datasets, endpoints, training jobs and tracking data; runs inference.</summary>
    Editor = 2,

    /// <summary>Everything, including keys, the audit trail and gateway statistics.</summary>
    Admin = 3,
}

/// <summary>What a caller asks for when creating a key.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.key-request")]
public sealed record KeyRequest(
    [property: Id(0)] string Name,
    [property: Id(1)] Role Role,
    [property: Id(2)] IReadOnlyList<string> Endpoints,
    [property: Id(3)] DateTimeOffset? ExpiresAt,
    [property: Id(4)] int? RequestsPerSecond);

/// <summary>
/// A stored API key: who it is, what it may do, and a salted SHA-256 of its secret. The secret itself is never stored;
/// a key whose <see cref="RevokedAt"/> is set stays listed so refusals can say it was revoked.
/// </summary>
[GenerateSerializer, Immutable, Alias("mlgrid.api-key")]
public sealed record ApiKeyRecord(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] Role Role,
    [property: Id(3)] IReadOnlyList<string> Endpoints,
    [property: Id(4)] DateTimeOffset? ExpiresAt,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] string CreatedBy,
    [property: Id(7)] DateTimeOffset? RevokedAt,
    [property: Id(8)] string Salt,
    [property: Id(9)] string Hash,
    [property: Id(10)] int? RequestsPerSecond);

/// <summary>A key as created: its record and the secret, which is handed out this once.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.created-key")]
public sealed record CreatedKey(
    [property: Id(0)] ApiKeyRecord Record,
    [property: Id(1)] string Secret);

/// <summary>Every key (with hashes, never secrets); <see cref="Version"/> grows with every change.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.key-ring")]
public sealed record KeyRing(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyDictionary<string, ApiKeyRecord> Keys)
{
    public static KeyRing Empty { get; } = new(0, new Dictionary<string, ApiKeyRecord>());
}

/// <summary>Implemented by gateways to hear of key changes (creations, revocations) as they happen.</summary>
[Alias("mlgrid.key-ring-observer")]
public interface IKeyRingObserver : IGrainObserver
{
    [Alias("on-keys-changed")]
    void OnKeysChanged(KeyRing ring);
}

/// <summary>The one registry of API keys; gateways follow its <see cref="KeyRing"/>.</summary>
[Alias("mlgrid.key-registry")]
public interface IKeyRegistryGrain : IGrainWithStringKey
{
    public const string Key = "default";

    [Alias("create")]
    Task<CreatedKey> Create(KeyRequest request, string createdBy);

    [Alias("revoke")]
    Task<ApiKeyRecord> Revoke(string id);

    [Alias("get")]
    Task<KeyRing> Get();

    /// <summary>The ring when its version is past <paramref name="knownVersion"/>, else null: a cheap poll behind the pushes.</summary>
    [Alias("get-if-newer")]
    Task<KeyRing?> GetIfNewer(long knownVersion);

    [Alias("subscribe")]
    Task Subscribe(IKeyRingObserver observer);

    [Alias("unsubscribe")]
    Task Unsubscribe(IKeyRingObserver observer);
}

/// <summary>One thing that happened, as its reporter (an API, a gateway, a grain acting on its own) describes it.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.audit-event")]
public sealed record AuditEvent(
    [property: Id(0)] DateTimeOffset Time,
    [property: Id(1)] string Principal,
    [property: Id(2)] string? PrincipalName,
    [property: Id(3)] string Action,
    [property: Id(4)] string Target,
    [property: Id(5)] string Outcome,
    [property: Id(6)] int Status,
    [property: Id(7)] string? RequestId,
    [property: Id(8)] string? Detail);

/// <summary>Outcomes an audit entry can record.</summary>
public static class AuditOutcomes
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Refused = "refused";

    /// <summary>What an HTTP status means for the trail: 2xx/3xx succeeded, 4xx/5xx failed.</summary>
    public static string Of(int status) => status < 400 ? Succeeded : Failed;
}

/// <summary>An event as recorded: numbered, and chained to the entry before it by <see cref="PreviousHash"/>.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.audit-entry")]
public sealed record AuditEntry(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset Time,
    [property: Id(2)] string Principal,
    [property: Id(3)] string? PrincipalName,
    [property: Id(4)] string Action,
    [property: Id(5)] string Target,
    [property: Id(6)] string Outcome,
    [property: Id(7)] int Status,
    [property: Id(8)] string? RequestId,
    [property: Id(9)] string? Detail,
    [property: Id(10)] string PreviousHash,
    [property: Id(11)] string Hash);

/// <summary>Filters and a page of the audit trail, newest first; <see cref="Before"/> continues from a sequence number.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.audit-query")]
public sealed record AuditQuery(
    [property: Id(0)] string? Principal = null,
    [property: Id(1)] string? Action = null,
    [property: Id(2)] string? Target = null,
    [property: Id(3)] string? Outcome = null,
    [property: Id(4)] DateTimeOffset? From = null,
    [property: Id(5)] DateTimeOffset? To = null,
    [property: Id(6)] long? Before = null,
    [property: Id(7)] int Limit = 100);

/// <summary>A page of entries; <see cref="NextBefore"/> is null when there are no older matching entries.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.audit-page")]
public sealed record AuditPage(
    [property: Id(0)] IReadOnlyList<AuditEntry> Entries,
    [property: Id(1)] long? NextBefore);

/// <summary>The result of re-computing the whole chain.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.audit-verification")]
public sealed record AuditVerification(
    [property: Id(0)] bool Intact,
    [property: Id(1)] long Entries,
    [property: Id(2)] long? FirstBadSequence,
    [property: Id(3)] string? Problem,
    [property: Id(4)] string HeadHash);

/// <summary>The append-only, hash-chained audit trail.</summary>
[Alias("mlgrid.audit-log")]
public interface IAuditLogGrain : IGrainWithStringKey
{
    public const string Key = "default";

    /// <summary>Appends the events in order; returns once they are in storage.</summary>
    [Alias("append")]
    Task Append(IReadOnlyList<AuditEvent> events);

    [Alias("query")]
    Task<AuditPage> Query(AuditQuery query);

    [Alias("verify")]
    Task<AuditVerification> Verify();
}
