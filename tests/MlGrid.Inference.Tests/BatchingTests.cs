using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference.Tests;

public sealed class BatchingTests
{
    public static TheoryData<string> AllDatatypes => [.. Datatypes.All];

    [Fact]
    public void WhyNotBatchable_is_null_when_every_first_dimension_is_dynamic()
    {
        Assert.Null(Batching.WhyNotBatchable(
            [new TensorSpec("a", Datatypes.Fp32, [-1, 3]), new TensorSpec("b", Datatypes.Bytes, [-1])],
            [new TensorSpec("y", Datatypes.Fp32, [-1, -1, 2])]));
    }

    [Fact]
    public void WhyNotBatchable_names_an_input_with_a_fixed_first_dimension()
    {
        var reason = Batching.WhyNotBatchable(
            [new TensorSpec("a", Datatypes.Fp32, [-1, 3]), new TensorSpec("fixed", Datatypes.Fp32, [1, 4])],
            [new TensorSpec("y", Datatypes.Fp32, [-1, 2])]);

        Assert.NotNull(reason);
        Assert.Contains("input 'fixed'", reason, StringComparison.Ordinal);
        Assert.Contains("[1,4]", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void WhyNotBatchable_names_an_output_with_a_fixed_first_dimension()
    {
        var reason = Batching.WhyNotBatchable(
            [new TensorSpec("x", Datatypes.Fp32, [-1, 3])],
            [new TensorSpec("y", Datatypes.Fp32, [-1, 2]), new TensorSpec("total", Datatypes.Fp32, [1, 2])]);

        Assert.NotNull(reason);
        Assert.Contains("output 'total'", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void WhyNotBatchable_names_a_scalar_output()
    {
        var reason = Batching.WhyNotBatchable([new TensorSpec("x", Datatypes.Fp32, [-1, 3])], [new TensorSpec("loss", Datatypes.Fp32, [])]);

        Assert.NotNull(reason);
        Assert.Contains("output 'loss'", reason, StringComparison.Ordinal);
        Assert.Contains("rank 0", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Rows_is_the_first_dimension_the_inputs_share()
    {
        Assert.Equal(4L, Batching.Rows([Fp32("a", [4, 3]), Fp32("b", [4])]));
        Assert.Equal(0L, Batching.Rows([Fp32("a", [0, 3])]));
    }

    [Fact]
    public void Rows_is_null_when_the_inputs_disagree_or_one_is_a_scalar()
    {
        Assert.Null(Batching.Rows([Fp32("a", [4, 3]), Fp32("b", [2, 3])]));
        Assert.Null(Batching.Rows([Fp32("a", [4, 3]), Fp32("s", [])]));
        Assert.Null(Batching.Rows([]));
    }

    [Fact]
    public void Concat_joins_rows_in_request_order()
    {
        var joined = Batching.Concat(
        [
            new InferenceTensor("x", Datatypes.Fp32, [1, 2, 2], new[] { 1f, 2f, 3f, 4f }),
            new InferenceTensor("x", Datatypes.Fp32, [2, 2, 2], new[] { 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f }),
        ]);

        Assert.Equal("x", joined.Name);
        Assert.Equal(Datatypes.Fp32, joined.Datatype);
        Assert.Equal([3L, 2L, 2L], joined.Shape);
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (float)i), (float[])joined.Data);
    }

    [Theory]
    [MemberData(nameof(AllDatatypes))]
    public void Concat_then_TrySplit_gives_back_each_part(string datatype)
    {
        long[] rows = [2, 0, 3, 1];
        var parts = rows.Select((r, i) => Sample("t", datatype, [r, 2, 3], seed: i)).ToArray();

        var joined = Batching.Concat(parts);

        Assert.Equal([6L, 2L, 3L], joined.Shape);
        Assert.Equal(Datatypes.NewArray(datatype, 0).GetType(), joined.Data.GetType());
        Assert.Equal(parts.SelectMany(p => p.Data.Cast<object>()), joined.Data.Cast<object>());

        Assert.True(Batching.TrySplit([joined], rows, out var split));
        Assert.Equal(parts.Length, split.Length);
        for (var i = 0; i < parts.Length; i++)
        {
            var part = Assert.Single(split[i]);
            Assert.Equal("t", part.Name);
            Assert.Equal(datatype, part.Datatype);
            Assert.Equal(parts[i].Shape, part.Shape);
            Assert.Equal(parts[i].Data.GetType(), part.Data.GetType());
            Assert.Equal(parts[i].Data.Cast<object>(), part.Data.Cast<object>());
        }
    }

    [Fact]
    public void Concat_joins_BYTES_tensors_keeping_every_string()
    {
        var joined = Batching.Concat(
        [
            new InferenceTensor("text", Datatypes.Bytes, [2], new[] { "hello", "" }),
            new InferenceTensor("text", Datatypes.Bytes, [1], new[] { "wörld, \"quoted\"" }),
        ]);

        Assert.Equal([3L], joined.Shape);
        Assert.Equal(["hello", "", "wörld, \"quoted\""], (string[])joined.Data);
    }

    [Fact]
    public void Concat_and_TrySplit_keep_FP16_bits_exactly()
    {
        // 1.0, -2.0, a subnormal, +infinity, -0.0 and a NaN payload: each must come back with the same bits.
        ushort[] bits = [0x3C00, 0xC000, 0x0001, 0x7C00, 0x8000, 0x7E01];
        var first = new InferenceTensor("h", Datatypes.Fp16, [2, 2], bits[..4].Select(b => new Float16(b)).ToArray());
        var second = new InferenceTensor("h", Datatypes.Fp16, [1, 2], bits[4..].Select(b => new Float16(b)).ToArray());

        var joined = Batching.Concat([first, second]);

        Assert.Equal([3L, 2L], joined.Shape);
        Assert.Equal(bits, ((Float16[])joined.Data).Select(h => h.value));
        Assert.True(Batching.TrySplit([joined], [2, 1], out var split));
        Assert.Equal(bits[..4], ((Float16[])split[0][0].Data).Select(h => h.value));
        Assert.Equal(bits[4..], ((Float16[])split[1][0].Data).Select(h => h.value));
    }

    [Fact]
    public void Concat_of_one_part_returns_it_unchanged()
    {
        var part = Fp32("x", [2, 3]);

        Assert.Same(part, Batching.Concat([part]));
    }

    [Fact]
    public void Concat_rejects_parts_whose_other_dimensions_differ()
    {
        Assert.Throws<ArgumentException>(() => Batching.Concat([Fp32("x", [1, 3]), Fp32("x", [1, 4])]));
        Assert.Throws<ArgumentException>(() => Batching.Concat([Fp32("x", [1, 3]), Fp32("x", [1, 3, 1])]));
    }

    [Fact]
    public void Concat_rejects_parts_of_different_datatypes()
    {
        var ints = new InferenceTensor("x", Datatypes.Int32, [1, 3], new int[3]);

        Assert.Throws<ArgumentException>(() => Batching.Concat([Fp32("x", [1, 3]), ints]));
    }

    [Fact]
    public void Concat_rejects_a_part_whose_data_does_not_fill_its_shape()
    {
        var truncated = new InferenceTensor("x", Datatypes.Fp32, [2, 3], new float[5]);

        Assert.Throws<ArgumentException>(() => Batching.Concat([Fp32("x", [1, 3]), truncated]));
    }

    [Fact]
    public void Concat_rejects_scalars()
    {
        var scalar = new InferenceTensor("s", Datatypes.Fp32, [], new float[1]);

        Assert.Throws<ArgumentException>(() => Batching.Concat([scalar, scalar]));
    }

    [Fact]
    public void ConcatInputs_matches_inputs_by_name_whatever_their_order()
    {
        var first = new[]
        {
            new InferenceTensor("a", Datatypes.Fp32, [1, 2], new[] { 1f, 2f }),
            new InferenceTensor("b", Datatypes.Int64, [1], new[] { 10L }),
        };
        var second = new[]
        {
            new InferenceTensor("b", Datatypes.Int64, [2], new[] { 20L, 30L }),
            new InferenceTensor("a", Datatypes.Fp32, [2, 2], new[] { 3f, 4f, 5f, 6f }),
        };

        var joined = Batching.ConcatInputs([first, second]);

        Assert.Equal(["a", "b"], joined.Select(t => t.Name));
        Assert.Equal([3L, 2L], joined[0].Shape);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], (float[])joined[0].Data);
        Assert.Equal([3L], joined[1].Shape);
        Assert.Equal([10L, 20L, 30L], (long[])joined[1].Data);
    }

    [Fact]
    public void TrySplit_splits_every_output_by_the_row_counts()
    {
        var y = new InferenceTensor("y", Datatypes.Fp32, [3, 2], new[] { 1f, 2f, 3f, 4f, 5f, 6f });
        var label = new InferenceTensor("label", Datatypes.Bytes, [3], new[] { "cat", "dog", "eel" });

        Assert.True(Batching.TrySplit([y, label], [1, 2], out var split));

        Assert.Equal(["y", "label"], split[0].Select(t => t.Name));
        Assert.Equal([1L, 2L], split[0][0].Shape);
        Assert.Equal([1f, 2f], (float[])split[0][0].Data);
        Assert.Equal(["cat"], (string[])split[0][1].Data);
        Assert.Equal([2L, 2L], split[1][0].Shape);
        Assert.Equal([3f, 4f, 5f, 6f], (float[])split[1][0].Data);
        Assert.Equal([2L], split[1][1].Shape);
        Assert.Equal(["dog", "eel"], (string[])split[1][1].Data);
    }

    [Fact]
    public void TrySplit_refuses_an_output_whose_first_dimension_is_not_the_total_rows()
    {
        var y = Fp32("y", [3, 2]);
        var pooled = Fp32("pooled", [1, 2]);

        Assert.False(Batching.TrySplit([y, pooled], [1, 2], out var split));
        Assert.Null(split);
        Assert.False(Batching.TrySplit([y], [1, 1], out _));
    }

    [Fact]
    public void TrySplit_names_the_output_whose_first_dimension_is_not_the_total_rows()
    {
        Assert.False(Batching.TrySplit([Fp32("y", [3, 2]), Fp32("pooled", [1, 2])], [1, 2], out _, out var whyNot));

        Assert.Equal("output 'pooled' of a batched run has shape [1,2] for 3 rows, so its rows cannot be told apart", whyNot);
    }

    [Fact]
    public void TrySplit_names_an_output_whose_data_does_not_fill_its_shape()
    {
        // The right first dimension, the wrong amount of data: nothing to tell from the shape alone.
        var truncated = new InferenceTensor("y", Datatypes.Fp32, [3, 2], new float[5]);

        Assert.False(Batching.TrySplit([truncated], [1, 2], out var split, out var whyNot));

        Assert.Null(split);
        Assert.Equal("output 'y' of a batched run has 5 elements for shape [3,2]", whyNot);
    }

    [Fact]
    public void TrySplit_refuses_a_scalar_output()
    {
        var loss = new InferenceTensor("loss", Datatypes.Fp32, [], new[] { 0.5f });

        Assert.False(Batching.TrySplit([loss], [1], out _));
    }

    [Fact]
    public void TrySplit_of_one_request_returns_the_outputs_unchanged()
    {
        IReadOnlyList<InferenceTensor> outputs = [Fp32("y", [2, 2])];

        Assert.True(Batching.TrySplit(outputs, [2], out var split));

        Assert.Same(outputs, Assert.Single(split));
    }

    [Fact]
    public void Keys_match_across_row_counts_and_input_order()
    {
        var a = BatchKey.Of([Fp32("x", [1, 3]), Int64("ids", [1, 5])], null);
        var b = BatchKey.Of([Int64("ids", [7, 5]), Fp32("x", [7, 3])], null);

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void Keys_match_for_the_same_requested_outputs()
    {
        Assert.Equal(BatchKey.Of([Fp32("x", [1, 3])], ["y", "z"]), BatchKey.Of([Fp32("x", [4, 3])], ["y", "z"]));
    }

    [Fact]
    public void Keys_differ_by_datatype()
    {
        var ints = new InferenceTensor("x", Datatypes.Int32, [1, 3], new int[3]);

        Assert.NotEqual(BatchKey.Of([Fp32("x", [1, 3])], null), BatchKey.Of([ints], null));
    }

    [Fact]
    public void Keys_differ_by_a_dimension_after_the_first()
    {
        Assert.NotEqual(BatchKey.Of([Fp32("x", [1, 3])], null), BatchKey.Of([Fp32("x", [1, 4])], null));
        Assert.NotEqual(BatchKey.Of([Fp32("x", [1, 3])], null), BatchKey.Of([Fp32("x", [1, 3, 1])], null));
    }

    [Fact]
    public void Keys_differ_by_input_names()
    {
        Assert.NotEqual(BatchKey.Of([Fp32("x", [1, 3])], null), BatchKey.Of([Fp32("y", [1, 3])], null));
        Assert.NotEqual(BatchKey.Of([Fp32("x", [1, 3])], null), BatchKey.Of([Fp32("x", [1, 3]), Fp32("y", [1, 3])], null));
    }

    [Fact]
    public void Keys_differ_by_requested_outputs()
    {
        var x = Fp32("x", [1, 3]);

        Assert.NotEqual(BatchKey.Of([x], null), BatchKey.Of([x], ["y"]));
        Assert.NotEqual(BatchKey.Of([x], ["y"]), BatchKey.Of([x], ["z"]));
        Assert.NotEqual(BatchKey.Of([x], ["y", "z"]), BatchKey.Of([x], ["z", "y"]));
    }

    private static InferenceTensor Fp32(string name, long[] shape) =>
        new(name, Datatypes.Fp32, shape, new float[Shapes.ElementCount(name, shape)]);

    private static InferenceTensor Int64(string name, long[] shape) =>
        new(name, Datatypes.Int64, shape, new long[Shapes.ElementCount(name, shape)]);

    /// <summary>A tensor whose elements differ from each other and from those of other seeds.</summary>
    private static InferenceTensor Sample(string name, string datatype, long[] shape, int seed)
    {
        var length = (int)Shapes.ElementCount(name, shape);
        var data = Datatypes.NewArray(datatype, length);
        for (var i = 0; i < length; i++)
        {
            var v = seed * 50 + i;
            data.SetValue(datatype switch
            {
                Datatypes.Bool => (v / 3) % 2 == 0,
                Datatypes.UInt8 => (byte)v,
                Datatypes.UInt16 => (ushort)(v * 300),
                Datatypes.UInt32 => (uint)v * 100_000u,
                Datatypes.UInt64 => (ulong)v << 40,
                Datatypes.Int8 => (sbyte)(v - 100),
                Datatypes.Int16 => (short)(-v * 200),
                Datatypes.Int32 => -v * 70_000,
                Datatypes.Int64 => -(long)v << 40,
                Datatypes.Fp16 => new Float16((ushort)(0x3C00 + v)),
                Datatypes.Fp32 => v * 0.1f,
                Datatypes.Fp64 => v * 0.01,
                Datatypes.Bytes => $"s{seed}-{i}",
                _ => throw new ArgumentOutOfRangeException(nameof(datatype)),
            }, i);
        }

        return new InferenceTensor(name, datatype, shape, data);
    }
}
