using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlGrid.Contracts;

namespace MlGrid.Governance;

/// <summary>
/// The audit trail's hash chain. Each entry's hash covers every field of the entry and the previous entry's hash, so
/// changing, removing or reordering any stored entry breaks the chain from that entry on.
/// </summary>
public static class AuditChain
{
    /// <summary>The "previous hash" of the first entry.</summary>
    public static readonly string GenesisHash = new('0', 64);

    private static readonly JsonSerializerOptions LineOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Numbers and chains events after the entry (<paramref name="lastSequence"/>, <paramref name="lastHash"/>).</summary>
    public static IReadOnlyList<AuditEntry> Link(long lastSequence, string lastHash, IEnumerable<AuditEvent> events)
    {
        var entries = new List<AuditEntry>();
        var sequence = lastSequence;
        var previous = lastHash;
        foreach (var e in events)
        {
            var entry = new AuditEntry(++sequence, e.Time.ToUniversalTime(), e.Principal, e.PrincipalName, e.Action, e.Target,
                e.Outcome, e.Status, e.RequestId, e.Detail, previous, "");
            entry = entry with { Hash = ComputeHash(entry) };
            entries.Add(entry);
            previous = entry.Hash;
        }

        return entries;
    }

    /// <summary>SHA-256 over the previous hash and every field, each length-prefixed so no two entries encode alike.</summary>
    public static string ComputeHash(AuditEntry entry)
    {
        var text = new StringBuilder();
        Field(text, entry.PreviousHash);
        Field(text, entry.Sequence.ToString(CultureInfo.InvariantCulture));
        Field(text, entry.Time.UtcTicks.ToString(CultureInfo.InvariantCulture));
        Field(text, entry.Principal);
        Field(text, entry.PrincipalName);
        Field(text, entry.Action);
        Field(text, entry.Target);
        Field(text, entry.Outcome);
        Field(text, entry.Status.ToString(CultureInfo.InvariantCulture));
        Field(text, entry.RequestId);
        Field(text, entry.Detail);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>One stored line: the entry as JSON, newline-terminated.</summary>
    public static string ToLine(AuditEntry entry) => JsonSerializer.Serialize(entry, LineOptions) + "\n";

    /// <summary>Reads a stored line back; null when it is not a well-formed entry.</summary>
    public static AuditEntry? FromLine(string line)
    {
        try
        {
            var entry = JsonSerializer.Deserialize<AuditEntry>(line, LineOptions);
            return entry is { Principal: not null, Action: not null, Target: not null, Outcome: not null, PreviousHash: not null, Hash: not null }
                ? entry
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void Field(StringBuilder text, string? value)
    {
        if (value is null)
        {
            text.Append("-1:");
            return;
        }

        text.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);
    }
}

/// <summary>Walks a chain entry by entry, from the first, and stops at the first entry that does not fit.</summary>
public sealed class AuditChainVerifier
{
    private long _expectedSequence = 1;
    private string _previousHash = AuditChain.GenesisHash;

    public long Count { get; private set; }

    public string HeadHash => _previousHash;

    public long? FirstBadSequence { get; private set; }

    public string? Problem { get; private set; }

    public bool Intact => Problem is null;

    /// <summary>Checks the next stored line; false once the chain is broken (later lines are then ignored).</summary>
    public bool Accept(string line)
    {
        if (!Intact)
        {
            return false;
        }

        var entry = AuditChain.FromLine(line);
        if (entry is null)
        {
            return Fail(_expectedSequence, $"entry {_expectedSequence} cannot be read as an audit entry");
        }

        if (entry.Sequence != _expectedSequence)
        {
            return Fail(_expectedSequence, $"expected entry {_expectedSequence} but found entry {entry.Sequence}: entries were removed or reordered");
        }

        if (entry.PreviousHash != _previousHash)
        {
            return Fail(entry.Sequence, $"entry {entry.Sequence} does not carry the hash of entry {entry.Sequence - 1}");
        }

        if (AuditChain.ComputeHash(entry) != entry.Hash)
        {
            return Fail(entry.Sequence, $"entry {entry.Sequence} was changed after it was written (its hash does not match its content)");
        }

        _previousHash = entry.Hash;
        _expectedSequence++;
        Count++;
        return true;
    }

    /// <summary>After the last line: the chain must reach the head the log remembers, or entries were cut off the end.</summary>
    public void ExpectHead(long sequence, string hash)
    {
        if (!Intact || sequence == 0)
        {
            return;
        }

        if (Count < sequence)
        {
            Fail(Count + 1, $"entries {Count + 1} to {sequence} are missing from storage");
        }
        else if (Count == sequence && _previousHash != hash)
        {
            Fail(sequence, $"entry {sequence} is not the entry that was written last");
        }
    }

    public AuditVerification Result() => new(Intact, Count, FirstBadSequence, Problem, _previousHash);

    private bool Fail(long sequence, string problem)
    {
        FirstBadSequence = sequence;
        Problem = problem;
        return false;
    }
}
