using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference.Tests;

public sealed class OipJsonParseTests
{
    /// <summary>Per datatype except the signed integers: four JSON literals and the .NET values they must become.</summary>
    public static TheoryData<string, string[], Array> EveryDatatypeButSignedIntegers =>
        Rows(datatype => !IsSignedInteger(datatype));

    public static TheoryData<string, string[], Array> SignedIntegers => Rows(IsSignedInteger);

    private static TheoryData<string, string[], Array> AllRows => new()
    {
        { Datatypes.Bool, ["true", "false", "false", "true"], new[] { true, false, false, true } },
        { Datatypes.UInt8, ["0", "1", "128", "255"], new byte[] { 0, 1, 128, byte.MaxValue } },
        { Datatypes.UInt16, ["0", "7", "40000", "65535"], new ushort[] { 0, 7, 40000, ushort.MaxValue } },
        { Datatypes.UInt32, ["0", "7", "3000000000", "4294967295"], new uint[] { 0, 7, 3_000_000_000, uint.MaxValue } },
        {
            Datatypes.UInt64, ["0", "7", "10000000000000000000", "18446744073709551615"],
            new ulong[] { 0, 7, 10_000_000_000_000_000_000, ulong.MaxValue }
        },
        { Datatypes.Int8, ["-128", "-1", "0", "127"], new sbyte[] { sbyte.MinValue, -1, 0, sbyte.MaxValue } },
        { Datatypes.Int16, ["-32768", "-1", "0", "32767"], new short[] { short.MinValue, -1, 0, short.MaxValue } },
        { Datatypes.Int32, ["-2147483648", "-1", "0", "2147483647"], new[] { int.MinValue, -1, 0, int.MaxValue } },
        {
            Datatypes.Int64, ["-9223372036854775808", "-1", "0", "9223372036854775807"],
            new[] { long.MinValue, -1L, 0L, long.MaxValue }
        },
        {
            Datatypes.Fp16, ["1.5", "-2.25", "0", "1024"],
            new[] { (Float16)1.5f, (Float16)(-2.25f), (Float16)0f, (Float16)1024f }
        },
        { Datatypes.Fp32, ["1.5", "-0.1", "3e38", "1e-3"], new[] { 1.5f, -0.1f, 3e38f, 1e-3f } },
        { Datatypes.Fp64, ["0.1", "-1e300", "2.5", "5e-324"], new[] { 0.1, -1e300, 2.5, double.Epsilon } },
        { Datatypes.Bytes, ["\"a\"", "\"\"", "\"h\\u00e9llo\"", "\"日本\""], new[] { "a", "", "héllo", "日本" } },
    };

    [Theory]
    [MemberData(nameof(EveryDatatypeButSignedIntegers))]
    public void ParseRequest_reads_flat_data_into_the_datatypes_array_type(string datatype, string[] literals, Array expected)
    {
        AssertParsesFlat(datatype, literals, expected);
    }

    [Theory]
    [MemberData(nameof(SignedIntegers))]
    public void ParseRequest_reads_signed_integers_into_signed_arrays(string datatype, string[] literals, Array expected)
    {
        AssertParsesFlat(datatype, literals, expected);
    }

    private static void AssertParsesFlat(string datatype, string[] literals, Array expected)
    {
        var request = Parse(Request(datatype, "[4]", $"[{string.Join(",", literals)}]"));

        var tensor = Assert.Single(request.Inputs);
        Assert.Equal("x", tensor.Name);
        Assert.Equal(datatype, tensor.Datatype);
        Assert.Equal([4L], tensor.Shape);
        Assert.IsType(expected.GetType(), tensor.Data);
        Assert.Equal(expected.Cast<object>(), tensor.Data.Cast<object>());
    }

    [Theory]
    [MemberData(nameof(EveryDatatypeButSignedIntegers))]
    public void ParseRequest_reads_nested_data_like_flat_data(string datatype, string[] literals, Array expected)
    {
        var flat = Parse(Request(datatype, "[2,2]", $"[{string.Join(",", literals)}]")).Inputs[0];
        var nested = Parse(Request(datatype, "[2,2]", $"[[{literals[0]},{literals[1]}],[{literals[2]},{literals[3]}]]")).Inputs[0];

        Assert.Equal(expected.Cast<object>(), flat.Data.Cast<object>());
        Assert.Equal(flat.Data.Cast<object>(), nested.Data.Cast<object>());
        Assert.Equal([2L, 2L], nested.Shape);
    }

    [Theory]
    [InlineData(Datatypes.UInt8, "256")]
    [InlineData(Datatypes.UInt8, "-1")]
    [InlineData(Datatypes.UInt8, "\"1\"")]
    [InlineData(Datatypes.UInt16, "65536")]
    [InlineData(Datatypes.UInt32, "-1")]
    [InlineData(Datatypes.UInt32, "4294967296")]
    [InlineData(Datatypes.UInt64, "-1")]
    [InlineData(Datatypes.UInt64, "18446744073709551616")]
    [InlineData(Datatypes.UInt64, "1.5")]
    [InlineData(Datatypes.Int8, "-129")]
    [InlineData(Datatypes.Int16, "-32769")]
    [InlineData(Datatypes.Int32, "1.5")]
    [InlineData(Datatypes.Int32, "null")]
    [InlineData(Datatypes.Int64, "1.5")]
    [InlineData(Datatypes.Fp16, "\"x\"")]
    [InlineData(Datatypes.Fp32, "\"x\"")]
    [InlineData(Datatypes.Fp32, "true")]
    [InlineData(Datatypes.Fp32, "\"1.5\"")]
    [InlineData(Datatypes.Fp64, "\"x\"")]
    [InlineData(Datatypes.Bool, "1")]
    [InlineData(Datatypes.Bool, "\"true\"")]
    [InlineData(Datatypes.Bytes, "1")]
    [InlineData(Datatypes.Bytes, "{\"b64\":\"AA==\"}")]
    public void ParseRequest_rejects_value_outside_the_datatype_naming_the_input(string datatype, string literal)
    {
        AssertRejectsSecondElement(datatype, literal);
    }

    [Theory]
    [InlineData(Datatypes.Int8, "128")]
    [InlineData(Datatypes.Int16, "32768")]
    [InlineData(Datatypes.Int32, "2147483648")]
    [InlineData(Datatypes.Int64, "9223372036854775808")]
    public void ParseRequest_rejects_value_above_the_signed_maximum(string datatype, string literal)
    {
        AssertRejectsSecondElement(datatype, literal);
    }

    private static void AssertRejectsSecondElement(string datatype, string literal)
    {
        var valid = datatype switch
        {
            Datatypes.Bool => "true",
            Datatypes.Bytes => "\"ok\"",
            _ => "0",
        };

        var ex = Assert.Throws<InferenceInputException>(() => Parse(Request(datatype, "[2]", $"[{valid},{literal}]")));

        Assert.Contains("element 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'x'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(datatype, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Datatypes.Fp16, "70000")]
    [InlineData(Datatypes.Fp32, "1e39")]
    [InlineData(Datatypes.Fp64, "1e400")]
    public void ParseRequest_rejects_finite_number_that_overflows_the_float_type(string datatype, string literal)
    {
        AssertRejectsSecondElement(datatype, literal);
    }

    [Theory]
    [InlineData(Datatypes.Fp16)]
    [InlineData(Datatypes.Fp32)]
    [InlineData(Datatypes.Fp64)]
    public void ParseRequest_reads_nan_and_infinities_from_strings(string datatype)
    {
        var data = Parse(Request(datatype, "[4]", "[\"NaN\",\"Infinity\",\"-Infinity\",2]")).Inputs[0].Data;

        var values = data.Cast<object>().Select(v => v switch
        {
            Float16 h => (double)(float)h,
            float f => f,
            double d => d,
            _ => throw new InvalidOperationException(v.GetType().Name),
        }).ToArray();
        Assert.True(double.IsNaN(values[0]));
        Assert.Equal(double.PositiveInfinity, values[1]);
        Assert.Equal(double.NegativeInfinity, values[2]);
        Assert.Equal(2.0, values[3]);
    }

    [Fact]
    public void ParseRequest_reads_id_and_requested_outputs()
    {
        var request = Parse("""
            {"id":"req-42","inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[3]}],
             "outputs":[{"name":"b"},{"name":"a","parameters":{"binary_data":false}}]}
            """);

        Assert.Equal("req-42", request.Id);
        Assert.Equal(["b", "a"], request.Outputs);
    }

    [Fact]
    public void ParseRequest_leaves_id_and_outputs_null_when_absent()
    {
        var request = Parse(Request(Datatypes.Int32, "[1]", "[3]"));

        Assert.Null(request.Id);
        Assert.Null(request.Outputs);
    }

    [Fact]
    public void ParseRequest_reads_several_inputs_in_order()
    {
        var request = Parse("""
            {"inputs":[
              {"name":"a","datatype":"FP32","shape":[1,2],"data":[1,2]},
              {"name":"b","datatype":"BYTES","shape":[1],"data":["s"]}]}
            """);

        Assert.Equal(["a", "b"], request.Inputs.Select(i => i.Name));
        Assert.Equal(new[] { 1f, 2f }, (float[])request.Inputs[0].Data);
        Assert.Equal(["s"], (string[])request.Inputs[1].Data);
    }

    [Fact]
    public void ParseRequest_accepts_scalar_and_empty_tensors()
    {
        var scalar = Parse(Request(Datatypes.Int64, "[]", "7")).Inputs[0];
        var empty = Parse(Request(Datatypes.Fp32, "[0,3]", "[]")).Inputs[0];

        Assert.Empty(scalar.Shape);
        Assert.Equal([7L], (long[])scalar.Data);
        Assert.Equal([0L, 3L], empty.Shape);
        Assert.Empty((float[])empty.Data);
    }

    [Theory]
    [InlineData("{\"inputs\":[", "JSON")]
    [InlineData("not json", "JSON")]
    [InlineData("", "JSON")]
    [InlineData("[]", "inputs")]
    [InlineData("{}", "inputs")]
    [InlineData("{\"inputs\":{}}", "inputs")]
    [InlineData("{\"inputs\":[1]}", "inputs")]
    [InlineData("{\"id\":5,\"inputs\":[]}", "id")]
    [InlineData("{\"inputs\":[],\"outputs\":{}}", "outputs")]
    [InlineData("{\"inputs\":[],\"outputs\":[{}]}", "outputs")]
    public void ParseRequest_rejects_malformed_envelope(string json, string mentioned)
    {
        var ex = Assert.Throws<InferenceInputException>(() => Parse(json));

        Assert.Contains(mentioned, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"datatype":"FP32","shape":[1],"data":[1]}""", "name")]
    [InlineData("""{"name":"","datatype":"FP32","shape":[1],"data":[1]}""", "name")]
    [InlineData("""{"name":"x","shape":[1],"data":[1]}""", "datatype")]
    [InlineData("""{"name":"x","datatype":"FP32","data":[1]}""", "shape")]
    [InlineData("""{"name":"x","datatype":"FP32","shape":1,"data":[1]}""", "shape")]
    [InlineData("""{"name":"x","datatype":"FP32","shape":[1]}""", "data")]
    [InlineData("""{"name":"x","datatype":"FLOAT32","shape":[1],"data":[1]}""", "FLOAT32")]
    [InlineData("""{"name":"x","datatype":"fp32","shape":[1],"data":[1]}""", "fp32")]
    [InlineData("""{"name":"x","datatype":"FP32","shape":[-1,3],"data":[1,2,3]}""", "-1")]
    [InlineData("""{"name":"x","datatype":"FP32","shape":[1.5],"data":[1]}""", "1.5")]
    [InlineData("""{"name":"x","datatype":"FP32","shape":["2"],"data":[1,2]}""", "shape")]
    [InlineData("""{"name":"x","datatype":"FP32","shape":[2,2],"data":[1,2,3]}""", "3")]
    [InlineData("""{"name":"x","datatype":"FP32","shape":[2],"data":[1,2,3]}""", "3")]
    [InlineData("""{"name":"x","datatype":"FP32","shape":[2],"data":[]}""", "0")]
    [InlineData("""{"name":"x","datatype":"FP32","shape":[4611686018427387904,4],"data":[1]}""", "integer from 0")]
    public void ParseRequest_rejects_malformed_input(string input, string mentioned)
    {
        var ex = Assert.Throws<InferenceInputException>(() => Parse($$"""{"inputs":[{{input}}]}"""));

        Assert.Contains(mentioned, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_names_the_input_when_data_length_does_not_match_shape()
    {
        var ex = Assert.Throws<InferenceInputException>(() => Parse(Request(Datatypes.Int32, "[2,3]", "[[1,2,3],[4,5]]")));

        Assert.Contains("'x'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[2,3]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_accepts_sixteen_nested_dimensions()
    {
        var shape = "[" + string.Join(",", Enumerable.Repeat("1", 16)) + "]";
        var data = new string('[', 16) + "5" + new string(']', 16);

        var tensor = Parse(Request(Datatypes.Int32, shape, data)).Inputs[0];

        Assert.Equal(16, tensor.Shape.Length);
        Assert.Equal([5], (int[])tensor.Data);
    }

    [Fact]
    public void ParseRequest_rejects_nesting_deeper_than_the_limit()
    {
        const int depth = OipJson.MaxDepth + 5;
        var data = new string('[', depth) + "5" + new string(']', depth);

        Assert.Throws<InferenceInputException>(() => Parse(Request(Datatypes.Int32, "[1]", data)));
    }

    [Fact]
    public void ParseRequest_rejects_pathologically_deep_nesting_without_stack_overflow()
    {
        const int depth = 100_000;
        var data = new string('[', depth) + "5" + new string(']', depth);

        Assert.Throws<InferenceInputException>(() => Parse(Request(Datatypes.Int32, "[1]", data)));
    }

    private static bool IsSignedInteger(string datatype) =>
        datatype is Datatypes.Int8 or Datatypes.Int16 or Datatypes.Int32 or Datatypes.Int64;

    private static TheoryData<string, string[], Array> Rows(Func<string, bool> include)
    {
        var rows = new TheoryData<string, string[], Array>();
        foreach (var row in AllRows)
        {
            if (include((string)row[0]))
            {
                rows.Add((string)row[0], (string[])row[1], (Array)row[2]);
            }
        }

        return rows;
    }

    private static InferenceRequest Parse(string json) => OipJson.ParseRequest(Encoding.UTF8.GetBytes(json));

    private static string Request(string datatype, string shape, string data) =>
        $$"""{"inputs":[{"name":"x","datatype":"{{datatype}}","shape":{{shape}},"data":{{data}}}]}""";
}
