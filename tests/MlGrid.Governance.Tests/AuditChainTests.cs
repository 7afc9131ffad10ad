using MlGrid.Contracts;

namespace MlGrid.Governance.Tests;

public sealed class AuditChainTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 9, 30, 0, TimeSpan.FromHours(1));

    private static List<AuditEvent> Events(int count) =>
    [
        .. Enumerable.Range(0, count).Select(i => new AuditEvent(
            Start.AddSeconds(i), "key_0123456789ab", "ci", $"PUT /api/v1/endpoints/{{name}}", $"/api/v1/endpoints/e{i}",
            AuditOutcomes.Succeeded, 202, $"req-{i}", i % 2 == 0 ? null : "détail")),
    ];

    private static List<string> Lines(int count) => [.. AuditChain.Link(0, AuditChain.GenesisHash, Events(count)).Select(AuditChain.ToLine)];

    private static AuditVerification Verify(IEnumerable<string> lines, long headSequence, string headHash)
    {
        var verifier = new AuditChainVerifier();
        foreach (var line in lines)
        {
            verifier.Accept(line);
        }

        verifier.ExpectHead(headSequence, headHash);
        return verifier.Result();
    }

    [Fact]
    public void Linked_entries_carry_the_previous_hash()
    {
        var entries = AuditChain.Link(0, AuditChain.GenesisHash, Events(3));
        Assert.Equal([1L, 2L, 3L], entries.Select(e => e.Sequence));
        Assert.Equal(AuditChain.GenesisHash, entries[0].PreviousHash);
        Assert.Equal(entries[0].Hash, entries[1].PreviousHash);
        Assert.Equal(entries[1].Hash, entries[2].PreviousHash);
        Assert.Equal(TimeSpan.Zero, entries[0].Time.Offset);
    }

    [Fact]
    public void A_continued_chain_links_to_the_last_entry()
    {
        var first = AuditChain.Link(0, AuditChain.GenesisHash, Events(2));
        var more = AuditChain.Link(2, first[^1].Hash, Events(1));
        Assert.Equal(3, more[0].Sequence);
        var result = Verify([.. first.Concat(more).Select(AuditChain.ToLine)], 3, more[0].Hash);
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(3, result.Entries);
    }

    [Fact]
    public void Stored_lines_verify_after_a_round_trip()
    {
        var entries = AuditChain.Link(0, AuditChain.GenesisHash, Events(5));
        var result = Verify(entries.Select(AuditChain.ToLine), 5, entries[^1].Hash);
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(entries[^1].Hash, result.HeadHash);
    }

    [Theory]
    [InlineData("\"outcome\":\"succeeded\"", "\"outcome\":\"failed\"")]
    [InlineData("\"status\":202", "\"status\":200")]
    [InlineData("\"principal\":\"key_0123456789ab\"", "\"principal\":\"admin\"")]
    [InlineData("/api/v1/endpoints/e2", "/api/v1/endpoints/x2")]
    public void Any_altered_field_is_found_at_its_entry(string from, string to)
    {
        var lines = Lines(5);
        Assert.Contains(from, lines[2]);
        lines[2] = lines[2].Replace(from, to, StringComparison.Ordinal);
        var result = Verify(lines, 5, "ignored");
        Assert.False(result.Intact);
        Assert.Equal(3, result.FirstBadSequence);
        Assert.Contains("entry 3", result.Problem);
    }

    [Fact]
    public void A_removed_entry_breaks_the_chain_where_it_was()
    {
        var lines = Lines(5);
        lines.RemoveAt(1);
        var result = Verify(lines, 5, "ignored");
        Assert.Equal(2, result.FirstBadSequence);
    }

    [Fact]
    public void A_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link()
    {
        var entries = AuditChain.Link(0, AuditChain.GenesisHash, Events(4)).ToList();
        var forged = entries[1] with { Outcome = AuditOutcomes.Failed };
        entries[1] = forged with { Hash = AuditChain.ComputeHash(forged) };
        var result = Verify(entries.Select(AuditChain.ToLine), 4, entries[^1].Hash);
        Assert.Equal(3, result.FirstBadSequence);
    }

    [Fact]
    public void Entries_cut_off_the_end_are_missing_from_the_head()
    {
        var entries = AuditChain.Link(0, AuditChain.GenesisHash, Events(5));
        var result = Verify(entries.Take(3).Select(AuditChain.ToLine), 5, entries[^1].Hash);
        Assert.False(result.Intact);
        Assert.Equal(4, result.FirstBadSequence);
        Assert.Contains("missing", result.Problem);
    }

    [Fact]
    public void A_line_that_is_not_an_entry_is_reported()
    {
        var lines = Lines(3);
        lines[1] = "{\"sequence\":2,";
        Assert.Equal(2, Verify(lines, 3, "ignored").FirstBadSequence);
    }

    [Fact]
    public void Field_boundaries_are_part_of_the_hash()
    {
        var a = AuditChain.Link(0, AuditChain.GenesisHash, [new AuditEvent(Start, "ab", "c", "x", "t", "succeeded", 200, null, null)]);
        var b = AuditChain.Link(0, AuditChain.GenesisHash, [new AuditEvent(Start, "a", "bc", "x", "t", "succeeded", 200, null, null)]);
        Assert.NotEqual(a[0].Hash, b[0].Hash);
    }
}
