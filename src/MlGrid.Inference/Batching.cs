using System.Diagnostics.CodeAnalysis;

namespace MlGrid.Inference;

/// <summary>
/// The pure parts of dynamic batching: which models can be batched, which requests may share a run, and how
/// tensors are joined along their first dimension and split back per request.
/// </summary>
public static class Batching
{
    /// <summary>
    /// Why requests to a model with this signature cannot be joined along the first dimension, or null when they can:
    /// every input and output needs rank 1 or more and a dynamic first dimension.
    /// </summary>
    public static string? WhyNotBatchable(IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        if (inputs.Count == 0)
        {
            return "the model has no inputs";
        }

        if (outputs.Count == 0)
        {
            return "the model has no tensor outputs";
        }

        foreach (var (specs, kind) in new[] { (inputs, "input"), (outputs, "output") })
        {
            foreach (var spec in specs)
            {
                if (spec.Shape.Length == 0)
                {
                    return $"{kind} '{spec.Name}' is a scalar (rank 0)";
                }

                if (spec.Shape[0] >= 0)
                {
                    return $"{kind} '{spec.Name}' has a fixed first dimension (shape {spec.ShapeText})";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The rows a request adds to a batch: the first dimension its inputs share, or null when an input is a scalar
    /// or the inputs disagree (such a request runs alone).
    /// </summary>
    public static long? Rows(IReadOnlyList<InferenceTensor> inputs)
    {
        if (inputs.Count == 0)
        {
            return null;
        }

        long? rows = null;
        foreach (var input in inputs)
        {
            if (input.Shape.Length == 0 || input.Shape[0] < 0 || (rows is { } seen && seen != input.Shape[0]))
            {
                return null;
            }

            rows = input.Shape[0];
        }

        return rows;
    }

    /// <summary>Joins tensors of one name, datatype and non-batch dimensions along their first dimension.</summary>
    /// <exception cref="ArgumentException">The parts do not agree, or a part's data does not fill its shape.</exception>
    public static InferenceTensor Concat(IReadOnlyList<InferenceTensor> parts)
    {
        if (parts.Count == 0)
        {
            throw new ArgumentException("Nothing to concatenate.", nameof(parts));
        }

        var first = parts[0];
        if (first.Shape.Length == 0)
        {
            throw new ArgumentException($"Tensor '{first.Name}' is a scalar; it has no first dimension to join along.", nameof(parts));
        }

        var rowElements = RowElements(first.Shape);
        long rows = 0;
        foreach (var part in parts)
        {
            if (part.Datatype != first.Datatype || part.Data.GetType() != first.Data.GetType())
            {
                throw new ArgumentException($"Tensor '{first.Name}' comes as {first.Datatype} and {part.Datatype}.", nameof(parts));
            }

            if (!SameRowShape(part.Shape, first.Shape))
            {
                throw new ArgumentException(
                    $"Tensor '{first.Name}' has shapes {Shapes.Format(first.Shape)} and {Shapes.Format(part.Shape)}; only the first dimension may differ.",
                    nameof(parts));
            }

            CheckFilled(part, rowElements);
            rows = checked(rows + part.Shape[0]);
        }

        if (parts.Count == 1)
        {
            return first;
        }

        var data = Datatypes.NewArray(first.Datatype, checked((int)(rows * rowElements)));
        if (data.GetType() != first.Data.GetType())
        {
            throw new ArgumentException($"Tensor '{first.Name}' holds {first.Data.GetType().Name}, not {first.Datatype}.", nameof(parts));
        }

        var offset = 0;
        foreach (var part in parts)
        {
            Array.Copy(part.Data, 0, data, offset, part.Data.Length);
            offset += part.Data.Length;
        }

        var shape = (long[])first.Shape.Clone();
        shape[0] = rows;
        return new InferenceTensor(first.Name, first.Datatype, shape, data);
    }

    /// <summary>
    /// The inputs of one run for several compatible requests (same <see cref="BatchKey"/>): each input, in the first
    /// request's order, joined along its first dimension.
    /// </summary>
    public static IReadOnlyList<InferenceTensor> ConcatInputs(IReadOnlyList<IReadOnlyList<InferenceTensor>> requests)
    {
        if (requests.Count == 0)
        {
            throw new ArgumentException("No requests to join.", nameof(requests));
        }

        if (requests.Count == 1)
        {
            return requests[0];
        }

        var joined = new InferenceTensor[requests[0].Count];
        var parts = new InferenceTensor[requests.Count];
        for (var i = 0; i < joined.Length; i++)
        {
            var name = requests[0][i].Name;
            for (var r = 0; r < requests.Count; r++)
            {
                parts[r] = Find(requests[r], name)
                    ?? throw new ArgumentException($"A request to join has no input '{name}'.", nameof(requests));
            }

            joined[i] = Concat(parts);
        }

        return joined;
    }

    /// <summary>
    /// Splits the outputs of a batched run back into one output list per request, <paramref name="rows"/>[i] rows for
    /// request i. False when an output's first dimension is not the batch's total row count (the model does not keep
    /// rows apart, so its outputs cannot be attributed to requests).
    /// </summary>
    public static bool TrySplit(
        IReadOnlyList<InferenceTensor> outputs, IReadOnlyList<long> rows, [NotNullWhen(true)] out IReadOnlyList<InferenceTensor>[]? perRequest) =>
        TrySplit(outputs, rows, out perRequest, out _);

    /// <summary>
    /// Splits the outputs of a batched run as the overload above does, and says why not when they cannot be split: the
    /// first output whose first dimension is not the total row count, or whose data does not fill its shape.
    /// </summary>
    public static bool TrySplit(
        IReadOnlyList<InferenceTensor> outputs,
        IReadOnlyList<long> rows,
        [NotNullWhen(true)] out IReadOnlyList<InferenceTensor>[]? perRequest,
        [NotNullWhen(false)] out string? whyNot)
    {
        perRequest = null;
        whyNot = null;
        long total = 0;
        foreach (var count in rows)
        {
            total = checked(total + count);
        }

        var rowElements = new long[outputs.Count];
        for (var o = 0; o < outputs.Count; o++)
        {
            var output = outputs[o];
            if (output.Shape.Length == 0 || output.Shape[0] != total)
            {
                whyNot = $"output '{output.Name}' of a batched run has shape {Shapes.Format(output.Shape)} for {total} rows, so its rows cannot be told apart";
                return false;
            }

            rowElements[o] = RowElements(output.Shape);
            if (output.Data.Length != total * rowElements[o])
            {
                whyNot = $"output '{output.Name}' of a batched run has {output.Data.Length} elements for shape {Shapes.Format(output.Shape)}";
                return false;
            }
        }

        var result = new IReadOnlyList<InferenceTensor>[rows.Count];
        if (rows.Count == 1)
        {
            result[0] = outputs;
            perRequest = result;
            return true;
        }

        var split = new InferenceTensor[rows.Count][];
        for (var r = 0; r < rows.Count; r++)
        {
            split[r] = new InferenceTensor[outputs.Count];
            result[r] = split[r];
        }

        for (var o = 0; o < outputs.Count; o++)
        {
            var output = outputs[o];
            long offset = 0;
            for (var r = 0; r < rows.Count; r++)
            {
                var length = checked((int)(rows[r] * rowElements[o]));
                var data = Datatypes.NewArray(output.Datatype, length);
                Array.Copy(output.Data, offset, data, 0, length);
                offset += length;

                var shape = (long[])output.Shape.Clone();
                shape[0] = rows[r];
                split[r][o] = new InferenceTensor(output.Name, output.Datatype, shape, data);
            }
        }

        perRequest = result;
        return true;
    }

    private static InferenceTensor? Find(IReadOnlyList<InferenceTensor> tensors, string name)
    {
        foreach (var tensor in tensors)
        {
            if (tensor.Name == name)
            {
                return tensor;
            }
        }

        return null;
    }

    private static long RowElements(long[] shape)
    {
        long count = 1;
        for (var i = 1; i < shape.Length; i++)
        {
            if (shape[i] < 0)
            {
                throw new ArgumentException($"Shape {Shapes.Format(shape)} has a negative dimension.", nameof(shape));
            }

            count = checked(count * shape[i]);
        }

        return count;
    }

    private static void CheckFilled(InferenceTensor tensor, long rowElements)
    {
        if (tensor.Shape[0] < 0 || tensor.Data.Length != checked(tensor.Shape[0] * rowElements))
        {
            throw new ArgumentException(
                $"Tensor '{tensor.Name}' has {tensor.Data.Length} elements for shape {Shapes.Format(tensor.Shape)}.", nameof(tensor));
        }
    }

    internal static bool SameRowShape(long[] a, long[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 1; i < a.Length; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// What requests must share to run in one batch: the same input names, each with the same datatype and the same
/// dimensions after the first, and the same requested outputs (in the same order, or all of them).
/// </summary>
public sealed class BatchKey : IEquatable<BatchKey>
{
    private readonly InferenceTensor[] _inputs;
    private readonly IReadOnlyList<string>? _outputs;
    private readonly int _hash;

    private BatchKey(InferenceTensor[] inputs, IReadOnlyList<string>? outputs)
    {
        _inputs = inputs;
        _outputs = outputs;

        var hash = new HashCode();
        foreach (var input in inputs)
        {
            hash.Add(input.Name);
            hash.Add(input.Datatype);
            hash.Add(input.Shape.Length);
            for (var i = 1; i < input.Shape.Length; i++)
            {
                hash.Add(input.Shape[i]);
            }
        }

        hash.Add(outputs is null ? -1 : outputs.Count);
        if (outputs is not null)
        {
            foreach (var output in outputs)
            {
                hash.Add(output);
            }
        }

        _hash = hash.ToHashCode();
    }

    /// <summary>The key of a request; <paramref name="outputs"/> null means every output.</summary>
    public static BatchKey Of(IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputs)
    {
        // By name: requests may list the same inputs in any order.
        var sorted = inputs.ToArray();
        if (sorted.Length > 1)
        {
            Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        }

        return new BatchKey(sorted, outputs);
    }

    public bool Equals(BatchKey? other)
    {
        if (other is null)
        {
            return false;
        }

        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (_hash != other._hash || _inputs.Length != other._inputs.Length)
        {
            return false;
        }

        for (var i = 0; i < _inputs.Length; i++)
        {
            var a = _inputs[i];
            var b = other._inputs[i];
            if (a.Name != b.Name || a.Datatype != b.Datatype || !Batching.SameRowShape(a.Shape, b.Shape))
            {
                return false;
            }
        }

        if (_outputs is null || other._outputs is null)
        {
            return _outputs is null && other._outputs is null;
        }

        return _outputs.SequenceEqual(other._outputs, StringComparer.Ordinal);
    }

    public override bool Equals(object? obj) => Equals(obj as BatchKey);

    public override int GetHashCode() => _hash;
}
