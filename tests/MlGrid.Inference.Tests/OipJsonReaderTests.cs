using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MlGrid.Inference.Tests;

/// <summary>The one-pass request reader: numbers exactly as System.Text.Json reads them, and properties in any order.</summary>
public sealed class OipJsonReaderTests
{
    private static readonly string[] EdgeLiterals =
    [
        "0", "-0", "0.0", "-0.0", "0e5", "1", "-1", "0.1", "-0.1", "4.35", "1e22", "1e23", "1e-22", "1e-23",
        "1E+2", "1e+0", "1.5E-7", "-1.2345678e-05", "123456789012345", "1234567890123456", "9007199254740993",
        "0.000000000000000000000000001", "100000000000000000000000", "5e-324", "2.2250738585072014E-308",
        "1.7976931348623157e308", "3.4028235e38", "1.4e-45", "0.30000000000000004", "12345.678901234",
    ];

    [Fact]
    public void ParseRequest_reads_fp64_numbers_as_json_readers_do()
    {
        var literals = EdgeLiterals.Concat(RandomLiterals(2000)).ToArray();

        var data = (double[])Parse(Datatypes.Fp64, literals).Inputs[0].Data;

        for (var i = 0; i < literals.Length; i++)
        {
            Assert.True(
                BitConverter.DoubleToInt64Bits(Reference(literals[i])) == BitConverter.DoubleToInt64Bits(data[i]),
                $"{literals[i]}: expected {Reference(literals[i]):R}, got {data[i]:R}");
        }
    }

    [Fact]
    public void ParseRequest_reads_fp32_numbers_as_json_readers_do()
    {
        var literals = EdgeLiterals.Concat(RandomLiterals(2000)).Where(l => float.IsFinite((float)Reference(l))).ToArray();

        var data = (float[])Parse(Datatypes.Fp32, literals).Inputs[0].Data;

        for (var i = 0; i < literals.Length; i++)
        {
            var expected = (float)Reference(literals[i]);
            Assert.True(
                BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(data[i]),
                $"{literals[i]}: expected {expected:R}, got {data[i]:R}");
        }
    }

    [Fact]
    public void ParseRequest_reads_an_image_sized_tensor()
    {
        var random = new Random(7);
        var values = Enumerable.Range(0, 3 * 224 * 224).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();

        var tensor = Parse(Datatypes.Fp32, values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)).ToArray(), "[1,3,224,224]").Inputs[0];

        Assert.Equal([1L, 3L, 224L, 224L], tensor.Shape);
        Assert.Equal(values, (float[])tensor.Data);
    }

    [Fact]
    public void ParseRequest_reads_data_that_comes_before_datatype_and_shape()
    {
        var request = OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            """{"inputs":[{"data":[[1,2],[3,4]],"name":"x","shape":[2,2],"datatype":"INT16"}],"id":"late"}"""));

        Assert.Equal("late", request.Id);
        Assert.Equal(new short[] { 1, 2, 3, 4 }, (short[])request.Inputs[0].Data);
    }

    [Fact]
    public void ParseRequest_takes_the_last_of_repeated_properties()
    {
        var request = OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"x","datatype":"INT32","shape":[2],"data":[1,2,3],"shape":[3],"datatype":"INT64"}]}"""));

        var tensor = request.Inputs[0];
        Assert.Equal(Datatypes.Int64, tensor.Datatype);
        Assert.Equal([3L], tensor.Shape);
        Assert.Equal(new[] { 1L, 2L, 3L }, (long[])tensor.Data);
    }

    [Fact]
    public void ParseRequest_reports_checks_in_order_whatever_the_property_order()
    {
        // 'outputs' is wrong too, but inputs are checked first; the data error comes after the datatype's.
        var ex = Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            """{"outputs":5,"inputs":[{"data":["a"],"shape":[1],"datatype":"FP99","name":"x"}]}""")));

        Assert.Contains("unknown datatype 'FP99'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_reports_invalid_json_after_a_semantic_error_as_invalid_json()
    {
        var ex = Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"x","datatype":"FP99","shape":[1],"data":[1]}],"outputs":[}""")));

        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"inputs":[]} {}""")]
    [InlineData("""{"inputs":[]}x""")]
    [InlineData("   ")]
    public void ParseRequest_rejects_anything_but_one_json_value(string json)
    {
        var ex = Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(Encoding.UTF8.GetBytes(json)));

        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_counts_data_against_a_huge_shape_without_allocating_it()
    {
        var ex = Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"x","datatype":"FP64","shape":[8192,8192],"data":[1,2]}]}""")));

        Assert.Contains("has 2 data elements", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_refuses_many_huge_shapes_without_allocating_them()
    {
        // Each input claims 4 million BYTES elements (32 MB of references) and holds none; the padding after them makes
        // every claim smaller than what is left of the body, but not all of them together.
        var inputs = string.Join(",", Enumerable.Range(0, 20).Select(i => $$"""{"name":"x{{i}}","datatype":"BYTES","shape":[4000000],"data":[]}"""));
        var json = Encoding.UTF8.GetBytes($$"""{"inputs":[{{inputs}}],"padding":"{{new string('a', 4_200_000)}}"}""");

        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(json));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("Input 'x0' has 0 data elements but shape [4000000] needs 4000000", ex.Message, StringComparison.Ordinal);
        Assert.InRange(allocated, 0, 8 * 1024 * 1024);
    }

    [Fact]
    public void ParseRequest_reads_data_read_twice_beyond_what_the_body_could_preallocate()
    {
        // The data is first read as FP32, then again as FP64 once the later datatype is known: together more elements
        // than the body could hold, so the second read grows its array as the elements arrive.
        var values = Enumerable.Range(0, 5000).Select(i => (double)(i % 10)).ToArray();
        var literals = string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));

        var request = OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            $$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[5000],"data":[{{literals}}],"datatype":"FP64"},{"name":"y","shape":[2],"data":[1,2],"datatype":"INT8"}]}"""));

        Assert.Equal(values, (double[])request.Inputs[0].Data);
        Assert.Equal(new sbyte[] { 1, 2 }, (sbyte[])request.Inputs[1].Data);
    }

    [Fact]
    public void ParseRequest_names_an_invalid_element_that_is_an_object_by_its_json()
    {
        var ex = Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            """{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[1,{"v":[2]},3]}]}""")));

        Assert.Contains("element 1 ({\"v\":[2]})", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_strings_that_are_not_utf8()
    {
        byte[] json = [.. """{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["""u8, (byte)'"', 0xC3, 0x28, (byte)'"', .. "]}]}"u8];

        var ex = Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(json));

        Assert.Contains("UTF-8", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>How System.Text.Json's own reader reads the literal, which <see cref="OipJson"/> matched before its fast path.</summary>
    private static double Reference(string literal)
    {
        using var document = JsonDocument.Parse(literal);
        Assert.True(document.RootElement.TryGetDouble(out var value));
        return value;
    }

    private static IEnumerable<string> RandomLiterals(int count)
    {
        var random = new Random(42);
        for (var i = 0; i < count; i++)
        {
            var value = (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30));
            yield return (i % 5) switch
            {
                0 => value.ToString("R", CultureInfo.InvariantCulture),
                1 => ((float)value).ToString("R", CultureInfo.InvariantCulture),
                2 => value.ToString("E7", CultureInfo.InvariantCulture),
                3 => Math.Round(value, random.Next(0, 15)).ToString(CultureInfo.InvariantCulture),
                _ => value.ToString("G15", CultureInfo.InvariantCulture),
            };
        }
    }

    private static InferenceRequest Parse(string datatype, string[] literals, string? shape = null) =>
        OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            $$"""{"inputs":[{"name":"x","datatype":"{{datatype}}","shape":{{shape ?? $"[{literals.Length}]"}},"data":[{{string.Join(",", literals)}}]}]}"""));
}
