using System.Buffers;
using System.Text;
using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using MlGrid.Governance;

namespace MlGrid.ControlPlane.Grains;

/// <summary>
/// The anchor of the audit trail: where the chain ends (sequence and hash) and which segment is being written. The
/// entries themselves live in append blobs (see <see cref="AuditStore"/>).
/// </summary>
public sealed class AuditLogState
{
    public long LastSequence { get; set; }

    public string LastHash { get; set; } = AuditChain.GenesisHash;

    public int Segment { get; set; }

    public int SegmentEntries { get; set; }
}

/// <summary>
/// The append-only, hash-chained audit trail. Entries are written to blob storage first and the anchor second, so a
/// crash between the two leaves entries past the anchor; they are adopted as the head before the next call, never
/// written over.
/// </summary>
[GrainType("mlgrid.audit-log")]
public sealed class AuditLogGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<AuditLogState> state,
    AuditStore store,
    ILogger<AuditLogGrain> logger) : Grain, IAuditLogGrain
{
    public const int MaxSegmentEntries = 10_000;
    public const int MaxQueryLimit = 1000;

    /// <summary>Reporters are trusted, but one runaway detail must not make an entry too large for an append block.</summary>
    private const int MaxFieldLength = 1024;
    private const int MaxDetailLength = 4096;

    /// <summary>Where the current segment's blob ends and how many blocks it has; known once reconciled.</summary>
    private long _segmentLength;
    private int _segmentBlocks;

    /// <summary>The highest segment number in storage, so a new segment never lands on an existing blob.</summary>
    private int _highestSegment;

    private bool _reconciled;

    /// <summary>Set after a failed write: the stored anchor (and its ETag) may differ from the one in memory.</summary>
    private bool _stateStale;

    /// <summary>First sequence number of each segment read so far, so a page deep in the trail skips newer segments unread.</summary>
    private readonly Dictionary<int, long> _segmentStarts = [];

    public async Task Append(IReadOnlyList<AuditEvent> events)
    {
        if (events is not { Count: > 0 })
        {
            return;
        }

        var pending = events.Select(Bounded).ToList();
        await EnsureReconciledAsync();
        try
        {
            var (written, linked) = await TryAppendAsync(pending);
            if (written < pending.Count)
            {
                // The blob was not where this writer thought (another writer, a retried append whose first answer was
                // lost, an edit): re-read where the chain really ends and go on from there. A block that did land
                // before is recognised by its hashes and not written twice.
                _reconciled = false;
                await EnsureReconciledAsync();
                written = Math.Max(written, StoredCount(linked));
                (var more, _) = await TryAppendAsync(pending.Skip(written).ToList());
                if (written + more < pending.Count)
                {
                    throw new InvalidOperationException("The audit trail's current segment keeps changing under its writer; not every entry was stored.");
                }
            }
        }
        catch
        {
            _reconciled = false;
            _stateStale = true;
            throw;
        }
    }

    public async Task<AuditPage> Query(AuditQuery query)
    {
        if (query.Limit is < 1 or > MaxQueryLimit)
        {
            throw RequestException.Invalid($"'limit' {query.Limit} is outside 1 to {MaxQueryLimit}.");
        }

        await EnsureReconciledAsync();
        var head = state.State.LastSequence;
        var page = new List<AuditEntry>(Math.Min(query.Limit, 128));
        var full = false;
        for (var segment = state.State.Segment; segment >= 0 && !full; segment--)
        {
            if (query.Before is { } before && _segmentStarts.TryGetValue(segment, out var start) && start >= before)
            {
                continue;
            }

            var entries = Parse(await store.ReadAsync(segment));
            if (entries.Count > 0)
            {
                _segmentStarts[segment] = entries[0].Sequence;
            }

            for (var i = entries.Count - 1; i >= 0; i--)
            {
                var entry = entries[i];
                if (entry.Sequence > head || (query.Before is { } b && entry.Sequence >= b) || !Matches(entry, query))
                {
                    continue;
                }

                if (page.Count == query.Limit)
                {
                    full = true;
                    break;
                }

                page.Add(entry);
            }
        }

        return new AuditPage(page, full ? page[^1].Sequence : null);
    }

    public async Task<AuditVerification> Verify()
    {
        await EnsureReconciledAsync();
        var verifier = new AuditChainVerifier();
        foreach (var segment in await store.ListSegmentsAsync())
        {
            var stored = await store.ReadAsync(segment);
            if (stored.Lines.Any(line => !verifier.Accept(line)))
            {
                break;
            }
        }

        verifier.ExpectHead(state.State.LastSequence, state.State.LastHash);
        var result = verifier.Result();
        if (!result.Intact)
        {
            logger.LogWarning("Audit trail verification failed at entry {Sequence}: {Problem}", result.FirstBadSequence, result.Problem);
        }

        return result;
    }

    /// <summary>How many of <paramref name="linked"/> the chain now ends with or passed, judged by the head's hash.</summary>
    private int StoredCount(IReadOnlyList<AuditEntry> linked)
    {
        var index = linked.Count == 0 ? -1 : (int)Math.Clamp(state.State.LastSequence - linked[0].Sequence, -1, linked.Count - 1);
        return index >= 0 && linked[index].Hash == state.State.LastHash ? index + 1 : 0;
    }

    /// <summary>
    /// Links and stores the events, then the anchor. Returns how many events are stored (fewer than given when the
    /// segment did not take a block where expected; nothing after that block was written) and the entries as linked.
    /// </summary>
    private async Task<(int Stored, IReadOnlyList<AuditEntry> Linked)> TryAppendAsync(List<AuditEvent> events)
    {
        if (events.Count == 0)
        {
            return (0, []);
        }

        var current = state.State;
        var entries = AuditChain.Link(current.LastSequence, current.LastHash, events);
        var segment = current.Segment;
        var segmentEntries = current.SegmentEntries;
        var length = _segmentLength;
        var blocks = _segmentBlocks;
        var block = new ArrayBufferWriter<byte>();
        var inBlock = 0;
        var stored = 0;
        var failed = false;
        var committed = (Segment: segment, Entries: segmentEntries, Length: length, Blocks: blocks);

        async Task<bool> FlushAsync()
        {
            if (inBlock == 0)
            {
                return true;
            }

            var result = await store.AppendAsync(segment, length, block.WrittenMemory);
            if (result == AuditAppendResult.NotAppendable)
            {
                logger.LogWarning("Audit segment {Segment} can no longer be appended to; the chain goes on in a new segment", segment);
                _highestSegment = Math.Max(_highestSegment, segment);
                segment = ++_highestSegment;
                segmentEntries = inBlock;
                (length, blocks) = (0, 0);
                result = await store.AppendAsync(segment, length, block.WrittenMemory);
            }

            if (result != AuditAppendResult.Appended)
            {
                failed = true;
                return false;
            }

            length += block.WrittenCount;
            blocks++;
            stored += inBlock;
            committed = (segment, segmentEntries, length, blocks);
            block.ResetWrittenCount();
            inBlock = 0;
            return true;
        }

        foreach (var entry in entries)
        {
            if (segmentEntries >= MaxSegmentEntries || blocks >= AuditStore.MaxBlocksPerSegment)
            {
                if (!await FlushAsync())
                {
                    break;
                }

                segment = Math.Max(segment, _highestSegment) + 1;
                (segmentEntries, length, blocks) = (0, 0, 0);
            }

            var line = Encoding.UTF8.GetBytes(AuditChain.ToLine(entry));
            if (block.WrittenCount + line.Length > AuditStore.MaxBlockBytes && !await FlushAsync())
            {
                break;
            }

            block.Write(line);
            inBlock++;
            segmentEntries++;
        }

        if (!failed)
        {
            await FlushAsync();
        }

        if (stored == 0)
        {
            return (0, entries);
        }

        var head = entries[stored - 1];
        state.State = new AuditLogState
        {
            LastSequence = head.Sequence,
            LastHash = head.Hash,
            Segment = committed.Segment,
            SegmentEntries = committed.Entries,
        };
        (_segmentLength, _segmentBlocks, _highestSegment) = (committed.Length, committed.Blocks, Math.Max(_highestSegment, committed.Segment));
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = current;
            throw;
        }

        return (stored, entries);
    }

    /// <summary>
    /// Makes the anchor agree with storage: entries that continue the chain past the anchor (written before a crash or a
    /// failed anchor write) become the head. Entries that do not continue it are left for <see cref="Verify"/> to report.
    /// </summary>
    private async Task EnsureReconciledAsync()
    {
        if (_reconciled)
        {
            return;
        }

        if (_stateStale)
        {
            await state.ReadStateAsync();
            _stateStale = false;
        }

        var anchor = state.State;
        var segments = await store.ListSegmentsAsync();
        _highestSegment = Math.Max(anchor.Segment, segments.Count > 0 ? segments[^1] : 0);
        var adopted = new AuditLogState
        {
            LastSequence = anchor.LastSequence,
            LastHash = anchor.LastHash,
            Segment = anchor.Segment,
            SegmentEntries = anchor.SegmentEntries,
        };
        AuditSegment? current = null;
        for (var number = anchor.Segment; number <= _highestSegment; number++)
        {
            var stored = number == anchor.Segment || segments.Contains(number) ? await store.ReadAsync(number) : null;
            if (stored is null)
            {
                continue;
            }

            var continued = number == anchor.Segment;
            foreach (var line in stored.Lines)
            {
                if (AuditChain.FromLine(line) is not { } entry || entry.Sequence <= adopted.LastSequence)
                {
                    continue;
                }

                if (entry.Sequence != adopted.LastSequence + 1 || entry.PreviousHash != adopted.LastHash || AuditChain.ComputeHash(entry) != entry.Hash)
                {
                    logger.LogWarning("Audit segment {Segment} holds entry {Sequence} past the head that does not continue the chain", number, entry.Sequence);
                    break;
                }

                (adopted.LastSequence, adopted.LastHash) = (entry.Sequence, entry.Hash);
                continued = true;
            }

            if (continued)
            {
                adopted.Segment = number;
                current = stored;
            }
        }

        current ??= await store.ReadAsync(adopted.Segment);
        adopted.SegmentEntries = current.Lines.Count;
        (_segmentLength, _segmentBlocks) = (current.Length, current.Blocks);
        if (adopted.LastSequence != anchor.LastSequence || adopted.Segment != anchor.Segment || adopted.SegmentEntries != anchor.SegmentEntries)
        {
            if (adopted.LastSequence != anchor.LastSequence)
            {
                logger.LogWarning("Audit trail adopted entries {From} to {To} found in storage past its last recorded entry",
                    anchor.LastSequence + 1, adopted.LastSequence);
            }

            state.State = adopted;
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State = anchor;
                _stateStale = true;
                throw;
            }
        }

        _reconciled = true;
    }

    private static List<AuditEntry> Parse(AuditSegment segment)
    {
        var entries = new List<AuditEntry>(segment.Lines.Count);
        foreach (var line in segment.Lines)
        {
            if (AuditChain.FromLine(line) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    private static bool Matches(AuditEntry entry, AuditQuery query) =>
        (query.Principal is null || entry.Principal == query.Principal)
        && (query.Action is null || entry.Action.Contains(query.Action, StringComparison.OrdinalIgnoreCase))
        && (query.Target is null || entry.Target.StartsWith(query.Target, StringComparison.Ordinal))
        && (query.Outcome is null || entry.Outcome == query.Outcome)
        && (query.From is null || entry.Time >= query.From)
        && (query.To is null || entry.Time <= query.To);

    private static AuditEvent Bounded(AuditEvent e) => e with
    {
        Principal = Cut(e.Principal, MaxFieldLength) ?? "",
        PrincipalName = Cut(e.PrincipalName, MaxFieldLength),
        Action = Cut(e.Action, MaxFieldLength) ?? "",
        Target = Cut(e.Target, MaxFieldLength) ?? "",
        Outcome = Cut(e.Outcome, MaxFieldLength) ?? "",
        RequestId = Cut(e.RequestId, MaxFieldLength),
        Detail = Cut(e.Detail, MaxDetailLength),
    };

    private static string? Cut(string? text, int max) => text is null || text.Length <= max ? text : text[..max] + "…";
}
