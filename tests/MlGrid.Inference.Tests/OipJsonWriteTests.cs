using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference.Tests;

public sealed class OipJsonWriteTests
{
    /// <summary>Per datatype except the signed integers: a [2,2] tensor's values, extremes included.</summary>
    public static TheoryData<string, Array> EveryDatatypeButSignedIntegers => new()
    {
        { Datatypes.Bool, new[] { true, false, false, true } },
        { Datatypes.UInt8, new byte[] { 0, 1, 128, byte.MaxValue } },
        { Datatypes.UInt16, new ushort[] { 0, 7, 40000, ushort.MaxValue } },
        { Datatypes.UInt32, new uint[] { 0, 7, 3_000_000_000, uint.MaxValue } },
        { Datatypes.UInt64, new ulong[] { 0, 7, 10_000_000_000_000_000_000, ulong.MaxValue } },
        { Datatypes.Fp16, new[] { (Float16)1.5f, (Float16)(-2.25f), (Float16)0.1f, (Float16)65504f } },
        { Datatypes.Fp32, new[] { 1.5f, -0.1f, float.MaxValue, float.Epsilon } },
        { Datatypes.Fp64, new[] { 0.1, -1e300, double.MaxValue, double.Epsilon } },
        { Datatypes.Bytes, new[] { "a", "", "héllo \"quoted\"", "日本" } },
    };

    public static TheoryData<string, Array> SignedIntegers => new()
    {
        { Datatypes.Int8, new sbyte[] { sbyte.MinValue, -1, 0, sbyte.MaxValue } },
        { Datatypes.Int16, new short[] { short.MinValue, -1, 0, short.MaxValue } },
        { Datatypes.Int32, new[] { int.MinValue, -1, 0, int.MaxValue } },
        { Datatypes.Int64, new[] { long.MinValue, -1L, 0L, long.MaxValue } },
    };

    [Theory]
    [MemberData(nameof(EveryDatatypeButSignedIntegers))]
    public void SerializeResponse_writes_every_datatype_so_json_readers_get_the_values_back(string datatype, Array values)
    {
        AssertJsonReadersGetValuesBack(datatype, values);
    }

    [Theory]
    [MemberData(nameof(SignedIntegers))]
    public void SerializeResponse_writes_signed_integers_with_their_sign(string datatype, Array values)
    {
        AssertJsonReadersGetValuesBack(datatype, values);
    }

    [Theory]
    [MemberData(nameof(EveryDatatypeButSignedIntegers))]
    public void SerializeResponse_output_parses_back_as_a_request_input(string datatype, Array values)
    {
        AssertParsesBackAsRequestInput(datatype, values);
    }

    [Theory]
    [MemberData(nameof(SignedIntegers))]
    public void SerializeResponse_output_of_signed_integers_parses_back_as_a_request_input(string datatype, Array values)
    {
        AssertParsesBackAsRequestInput(datatype, values);
    }

    [Fact]
    public void SerializeResponse_writes_model_name_version_and_id()
    {
        var response = new InferenceResponse("iris", "7", "abc", []);

        using var document = JsonDocument.Parse(OipJson.SerializeResponse(response));

        Assert.Equal("iris", document.RootElement.GetProperty("model_name").GetString());
        Assert.Equal("7", document.RootElement.GetProperty("model_version").GetString());
        Assert.Equal("abc", document.RootElement.GetProperty("id").GetString());
        Assert.Equal(0, document.RootElement.GetProperty("outputs").GetArrayLength());
    }

    [Fact]
    public void SerializeResponse_omits_id_when_the_request_had_none()
    {
        var response = new InferenceResponse("iris", "7", null, []);

        using var document = JsonDocument.Parse(OipJson.SerializeResponse(response));

        Assert.False(document.RootElement.TryGetProperty("id", out _));
    }

    [Fact]
    public void SerializeResponse_keeps_outputs_in_order()
    {
        var response = new InferenceResponse("m", "1", null,
        [
            new InferenceTensor("second", Datatypes.Int32, [1], new[] { 2 }),
            new InferenceTensor("first", Datatypes.Int32, [1], new[] { 1 }),
        ]);

        using var document = JsonDocument.Parse(OipJson.SerializeResponse(response));

        Assert.Equal(["second", "first"],
            document.RootElement.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
    }

    [Fact]
    public void WriteResponse_writes_through_a_caller_supplied_writer()
    {
        var response = new InferenceResponse("m", "1", null, [new InferenceTensor("y", Datatypes.Fp32, [1], new[] { 0.5f })]);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            OipJson.WriteResponse(writer, response);
        }

        Assert.Equal(OipJson.SerializeResponse(response), buffer.ToArray());
    }

    [Theory]
    [InlineData(Datatypes.Fp16)]
    [InlineData(Datatypes.Fp32)]
    [InlineData(Datatypes.Fp64)]
    public void SerializeResponse_writes_nan_and_infinities_as_strings_that_parse_back(string datatype)
    {
        double[] special = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, -3.5];
        Array data = datatype switch
        {
            Datatypes.Fp16 => special.Select(v => (Float16)(float)v).ToArray(),
            Datatypes.Fp32 => special.Select(v => (float)v).ToArray(),
            _ => special,
        };
        var response = new InferenceResponse("m", "1", null, [new InferenceTensor("y", datatype, [4], data)]);
        var json = OipJson.SerializeResponse(response);

        using var document = JsonDocument.Parse(json);
        var written = document.RootElement.GetProperty("outputs")[0].GetProperty("data");
        Assert.Equal("NaN", written[0].GetString());
        Assert.Equal("Infinity", written[1].GetString());
        Assert.Equal("-Infinity", written[2].GetString());
        Assert.Equal(-3.5, written[3].GetDouble());

        var request = $"{{\"inputs\":{document.RootElement.GetProperty("outputs").GetRawText()}}}";
        var back = OipJson.ParseRequest(Encoding.UTF8.GetBytes(request)).Inputs[0].Data.Cast<object>().Select(ToDouble).ToArray();
        Assert.True(double.IsNaN(back[0]));
        Assert.Equal(double.PositiveInfinity, back[1]);
        Assert.Equal(double.NegativeInfinity, back[2]);
        Assert.Equal(-3.5, back[3]);
    }

    [Fact]
    public void SerializeResponse_rejects_data_no_datatype_holds()
    {
        var response = new InferenceResponse("m", "1", null, [new InferenceTensor("y", Datatypes.Fp64, [1], new[] { 1m })]);

        Assert.Throws<ArgumentException>(() => OipJson.SerializeResponse(response));
    }

    private static void AssertJsonReadersGetValuesBack(string datatype, Array values)
    {
        var response = new InferenceResponse("m", "3", "req-1", [new InferenceTensor("y", datatype, [2, 2], values)]);

        using var document = JsonDocument.Parse(OipJson.SerializeResponse(response));

        var output = Assert.Single(document.RootElement.GetProperty("outputs").EnumerateArray());
        Assert.Equal("y", output.GetProperty("name").GetString());
        Assert.Equal(datatype, output.GetProperty("datatype").GetString());
        Assert.Equal([2L, 2L], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        var read = output.GetProperty("data").EnumerateArray().Select(e => Read(datatype, e)).ToArray();
        Assert.Equal(values.Cast<object>(), read);
    }

    private static void AssertParsesBackAsRequestInput(string datatype, Array values)
    {
        var response = new InferenceResponse("m", "1", null, [new InferenceTensor("y", datatype, [2, 2], values)]);
        using var document = JsonDocument.Parse(OipJson.SerializeResponse(response));

        // A response output has the same form as a request input, so a client can feed one model's answer to another.
        var request = $"{{\"inputs\":{document.RootElement.GetProperty("outputs").GetRawText()}}}";
        var tensor = Assert.Single(OipJson.ParseRequest(Encoding.UTF8.GetBytes(request)).Inputs);

        Assert.Equal(datatype, tensor.Datatype);
        Assert.Equal([2L, 2L], tensor.Shape);
        Assert.IsType(values.GetType(), tensor.Data);
        Assert.Equal(values.Cast<object>(), tensor.Data.Cast<object>());
    }

    private static object Read(string datatype, JsonElement e) => datatype switch
    {
        Datatypes.Bool => e.GetBoolean(),
        Datatypes.UInt8 => e.GetByte(),
        Datatypes.UInt16 => e.GetUInt16(),
        Datatypes.UInt32 => e.GetUInt32(),
        Datatypes.UInt64 => e.GetUInt64(),
        Datatypes.Int8 => e.GetSByte(),
        Datatypes.Int16 => e.GetInt16(),
        Datatypes.Int32 => e.GetInt32(),
        Datatypes.Int64 => e.GetInt64(),
        Datatypes.Fp16 => (Float16)e.GetSingle(),
        Datatypes.Fp32 => e.GetSingle(),
        Datatypes.Fp64 => e.GetDouble(),
        Datatypes.Bytes => e.GetString()!,
        _ => throw new ArgumentOutOfRangeException(nameof(datatype), datatype, null),
    };

    private static double ToDouble(object value) => value switch
    {
        Float16 h => (float)h,
        float f => f,
        double d => d,
        _ => throw new ArgumentException(value.GetType().Name, nameof(value)),
    };
}
