namespace MlGrid.Datasets;

/// <summary>
/// Space-Saving (Metwally et al., 2005) over at most <c>capacity</c> counters. A min-heap on the counts makes each
/// value O(log capacity): the value that replaces the least counted one inherits its count, so counts only
/// overestimate, by at most the count they inherited, which is at most n / capacity.
/// </summary>
internal sealed class TopValueCounter(int capacity)
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private Entry[] _heap = new Entry[Math.Min(capacity, 16)];
    private int _size;

    /// <summary>True while no value has been evicted, so every count is exact and every distinct value is present.</summary>
    public bool IsExact { get; private set; } = true;

    public int Distinct => _size;

    public void Add(string value)
    {
        if (_entries.TryGetValue(value, out var entry))
        {
            entry.Count++;
            SiftDown(entry.Position);
            return;
        }

        if (_size < capacity)
        {
            if (_size == _heap.Length)
            {
                Array.Resize(ref _heap, Math.Min(capacity, _heap.Length * 2));
            }

            entry = new Entry { Value = value, Count = 1, Position = _size };
            _heap[_size++] = entry;
            _entries.Add(value, entry);
            SiftUp(entry.Position);
            return;
        }

        // The evicted entry object is reused, so a full counter allocates nothing per value.
        entry = _heap[0];
        _entries.Remove(entry.Value);
        entry.Value = value;
        entry.Count++;
        _entries.Add(value, entry);
        IsExact = false;
        SiftDown(0);
    }

    /// <summary>The <paramref name="count"/> most frequent values, most frequent first, ties in ordinal order.</summary>
    public IReadOnlyList<ValueCount> Top(int count) =>
        [.. _heap.Take(_size)
            .OrderByDescending(e => e.Count)
            .ThenBy(e => e.Value, StringComparer.Ordinal)
            .Take(count)
            .Select(e => new ValueCount(e.Value, e.Count))];

    private void SiftUp(int at)
    {
        while (at > 0)
        {
            var parent = (at - 1) / 2;
            if (_heap[parent].Count <= _heap[at].Count)
            {
                return;
            }

            Swap(at, parent);
            at = parent;
        }
    }

    private void SiftDown(int at)
    {
        while (true)
        {
            var smallest = at;
            var left = (2 * at) + 1;
            var right = left + 1;
            if (left < _size && _heap[left].Count < _heap[smallest].Count)
            {
                smallest = left;
            }

            if (right < _size && _heap[right].Count < _heap[smallest].Count)
            {
                smallest = right;
            }

            if (smallest == at)
            {
                return;
            }

            Swap(at, smallest);
            at = smallest;
        }
    }

    private void Swap(int a, int b)
    {
        (_heap[a], _heap[b]) = (_heap[b], _heap[a]);
        _heap[a].Position = a;
        _heap[b].Position = b;
    }

    private sealed class Entry
    {
        public required string Value { get; set; }

        public long Count { get; set; }

        public int Position { get; set; }
    }
}
