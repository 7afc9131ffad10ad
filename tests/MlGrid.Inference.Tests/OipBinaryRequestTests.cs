using System.Text;
using System.Text.Json;

namespace MlGrid.Inference.Tests;

public sealed class OipBinaryRequestTests
{
    public static TheoryData<string> AllDatatypes => RawData.AllDatatypes;

    [Theory]
    [MemberData(nameof(AllDatatypes))]
    public void ParseRequest_reads_binary_data_of_every_datatype(string datatype)
    {
        var expected = RawData.Sample(datatype);
        var raw = RawData.Encode(datatype, expected);

        var request = Parse(
            $$$"""{"inputs":[{"name":"x","datatype":"{{{datatype}}}","shape":[2,2],"parameters":{"binary_data_size":{{{raw.Length}}}}}]}""",
            raw);

        var tensor = Assert.Single(request.Inputs);
        Assert.Equal("x", tensor.Name);
        Assert.Equal(datatype, tensor.Datatype);
        Assert.Equal([2L, 2L], tensor.Shape);
        Assert.Equal(Datatypes.Of(expected), Datatypes.Of(tensor.Data));
        Assert.Equal(expected.Cast<object>(), tensor.Data.Cast<object>());
    }

    [Theory]
    [MemberData(nameof(AllDatatypes))]
    public void ParseRequest_gives_binary_inputs_the_same_tensor_as_json_inputs(string datatype)
    {
        // The JSON response writer is the reference JSON encoding of these values.
        var values = RawData.Sample(datatype);
        using var response = JsonDocument.Parse(OipJson.SerializeResponse(
            new InferenceResponse("m", "1", null, [new InferenceTensor("x", datatype, [4], values)])));
        var jsonData = response.RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText();
        var fromJson = OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            $$$"""{"inputs":[{"name":"x","datatype":"{{{datatype}}}","shape":[4],"data":{{{jsonData}}}}]}""")).Inputs[0];
        var raw = RawData.Encode(datatype, values);

        var fromBinary = Parse(
            $$$"""{"inputs":[{"name":"x","datatype":"{{{datatype}}}","shape":[4],"parameters":{"binary_data_size":{{{raw.Length}}}}}]}""",
            raw).Inputs[0];

        Assert.Equal(fromJson.Data.GetType(), fromBinary.Data.GetType());
        Assert.Equal(fromJson.Data.Cast<object>(), fromBinary.Data.Cast<object>());
    }

    [Fact]
    public void ParseRequest_reads_binary_floats_bit_for_bit()
    {
        float[] values = [-0f, float.Epsilon, float.PositiveInfinity, BitConverter.Int32BitsToSingle(0x7FC00123)];
        var raw = RawData.Encode(Datatypes.Fp32, values);

        var data = (float[])Parse(BinaryInput("x", Datatypes.Fp32, "[4]", raw.Length), raw).Inputs[0].Data;

        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), data.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void ParseRequest_reads_mixed_json_and_binary_inputs_taking_binary_data_in_input_order()
    {
        var b = RawData.Encode(Datatypes.Int64, new[] { 7L, -8L });
        var d = RawData.Encode(Datatypes.Bytes, new[] { "x", "yz", "" });
        var json = $$$"""
            {"id":"mixed","inputs":[
              {"name":"a","datatype":"FP32","shape":[1,2],"data":[1.5,2.5]},
              {"name":"b","datatype":"INT64","shape":[2],"parameters":{"binary_data_size":{{{b.Length}}}}},
              {"name":"c","datatype":"BOOL","shape":[1],"data":[true]},
              {"name":"d","datatype":"BYTES","shape":[3],"parameters":{"content_type":"str","binary_data_size":{{{d.Length}}}}}]}
            """;

        var request = Parse(json, b, d);

        Assert.Equal("mixed", request.Id);
        Assert.Equal(["a", "b", "c", "d"], request.Inputs.Select(i => i.Name));
        Assert.Equal(new[] { 1.5f, 2.5f }, (float[])request.Inputs[0].Data);
        Assert.Equal(new[] { 7L, -8L }, (long[])request.Inputs[1].Data);
        Assert.Equal(new[] { true }, (bool[])request.Inputs[2].Data);
        Assert.Equal(["x", "yz", ""], (string[])request.Inputs[3].Data);
    }

    [Fact]
    public void ParseRequest_with_a_header_length_accepts_a_body_without_binary_data()
    {
        var json = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","datatype":"INT32","shape":[2],"data":[1,2]}]}""");

        var request = OipBinary.ParseRequest(json, json.Length);

        Assert.Equal(new[] { 1, 2 }, (int[])request.Inputs[0].Data);
    }

    [Fact]
    public void ParseRequest_reads_a_zero_element_binary_input()
    {
        var request = Parse(BinaryInput("x", Datatypes.Fp32, "[0,3]", 0));

        Assert.Equal([0L, 3L], request.Inputs[0].Shape);
        Assert.Empty((float[])request.Inputs[0].Data);
    }

    [Fact]
    public void ParseRequest_from_http_reads_plain_json_without_the_header()
    {
        var body = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[5]}]}""");

        var request = OipBinary.ParseRequest(body, headerContentLength: null, contentType: "application/json");

        Assert.Equal(new[] { 5 }, (int[])request.Inputs[0].Data);
    }

    [Fact]
    public void ParseRequest_from_http_splits_the_body_at_the_header_length()
    {
        var raw = RawData.Encode(Datatypes.Int32, new[] { 3, 4 });
        var header = Encoding.UTF8.GetBytes(BinaryInput("x", Datatypes.Int32, "[2]", raw.Length));

        var request = OipBinary.ParseRequest(
            (byte[])[.. header, .. raw], header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "application/octet-stream");

        Assert.Equal(new[] { 3, 4 }, (int[])request.Inputs[0].Data);
    }

    [Fact]
    public void ParseRequest_reads_binary_output_choices()
    {
        var request = OipJson.ParseRequest(Encoding.UTF8.GetBytes("""
            {"inputs":[],"parameters":{"binary_data_output":true,"other":1},
             "outputs":[{"name":"a"},{"name":"b","parameters":{"binary_data":false}},{"name":"c","parameters":{"binary_data":true}}]}
            """));

        Assert.Equal(["a", "b", "c"], request.Outputs);
        Assert.True(request.BinaryDataOutput);
        Assert.True(request.IsBinaryOutput("a"));
        Assert.False(request.IsBinaryOutput("b"));
        Assert.True(request.IsBinaryOutput("c"));
    }

    [Fact]
    public void ParseRequest_sends_only_outputs_marked_binary_when_binary_data_output_is_off()
    {
        var request = OipJson.ParseRequest(Encoding.UTF8.GetBytes("""
            {"inputs":[],"outputs":[{"name":"a"},{"name":"b","parameters":{"binary_data":true}}]}
            """));

        Assert.False(request.BinaryDataOutput);
        Assert.False(request.IsBinaryOutput("a"));
        Assert.True(request.IsBinaryOutput("b"));
    }

    [Fact]
    public void A_request_built_in_code_returns_json_outputs_unless_asked()
    {
        var request = new InferenceRequest(null, [], null);
        var all = request with { BinaryDataOutput = true };

        Assert.False(request.IsBinaryOutput("y"));
        Assert.True(all.IsBinaryOutput("y"));
    }

    [Theory]
    [InlineData("""{"binary_data_output":"yes"}""", "binary_data_output")]
    [InlineData("""{"binary_data_output":1}""", "binary_data_output")]
    public void ParseRequest_rejects_a_binary_data_output_that_is_not_a_boolean(string parameters, string mentioned)
    {
        var ex = Assert.Throws<InferenceInputException>(
            () => OipJson.ParseRequest(Encoding.UTF8.GetBytes($$$"""{"inputs":[],"parameters":{{{parameters}}}}""")));

        Assert.Contains(mentioned, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_a_binary_data_choice_that_is_not_a_boolean()
    {
        var ex = Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(Encoding.UTF8.GetBytes(
            """{"inputs":[],"outputs":[{"name":"y","parameters":{"binary_data":"true"}}]}""")));

        Assert.Contains("'binary_data'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'y'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("")]
    [InlineData("12, 12")]
    [InlineData("99999999999999999999999")]
    public void ParseRequest_rejects_a_header_length_that_is_not_a_number(string value)
    {
        var ex = Assert.Throws<InferenceInputException>(
            () => OipBinary.ParseRequest(new byte[16], value, "application/octet-stream"));

        Assert.Contains(OipBinary.HeaderContentLength, ex.Message, StringComparison.Ordinal);
        Assert.Contains("whole number", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_a_header_length_larger_than_the_body()
    {
        var ex = Assert.Throws<InferenceInputException>(() => OipBinary.ParseRequest(new byte[16], "17", null));

        Assert.Contains("17", ex.Message, StringComparison.Ordinal);
        Assert.Contains("16 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/octet-stream")]
    [InlineData("Application/Octet-Stream; charset=binary")]
    public void ParseRequest_rejects_an_octet_stream_body_without_the_header(string contentType)
    {
        var body = Encoding.UTF8.GetBytes("""{"inputs":[]}""");

        var ex = Assert.Throws<InferenceInputException>(() => OipBinary.ParseRequest(body, null, contentType));

        Assert.Contains(OipBinary.HeaderContentLength, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public void ParseRequest_rejects_a_header_length_that_cuts_the_json(int headerLength)
    {
        var body = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1]}]}""");

        var ex = Assert.Throws<InferenceInputException>(() => OipBinary.ParseRequest(body, headerLength));

        Assert.Contains("not valid JSON", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"first {headerLength} bytes", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Datatypes.Fp32, "[2]", 4, "8 bytes")]
    [InlineData(Datatypes.Fp32, "[2]", 12, "8 bytes")]
    [InlineData(Datatypes.Fp64, "[1,3]", 12, "24 bytes")]
    [InlineData(Datatypes.Fp16, "[3]", 5, "6 bytes")]
    [InlineData(Datatypes.Bool, "[3]", 2, "3 bytes")]
    [InlineData(Datatypes.Int64, "[8192,8192]", 8, "536870912 bytes")]
    public void ParseRequest_rejects_a_binary_data_size_that_does_not_match_the_shape(string datatype, string shape, int size, string needed)
    {
        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", datatype, shape, size), new byte[size]));

        Assert.Contains("'x'", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"binary_data_size of {size}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(needed, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_binary_sizes_adding_up_to_more_than_the_binary_data()
    {
        var json = $$$"""
            {"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}},
                       {"name":"b","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]}
            """;

        var ex = Assert.Throws<InferenceInputException>(() => Parse(json, new byte[10]));

        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("only 6 of the 10 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_binary_data_left_over_after_the_inputs()
    {
        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", Datatypes.Int32, "[1]", 4), new byte[7]));

        Assert.Contains("7 bytes of binary data", ex.Message, StringComparison.Ordinal);
        Assert.Contains("add up to 4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_binary_data_when_no_input_declares_any()
    {
        var json = """{"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1]}]}""";

        var ex = Assert.Throws<InferenceInputException>(() => Parse(json, new byte[4]));

        Assert.Contains("add up to 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_an_input_with_both_data_and_binary_data_size()
    {
        var json = """{"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}""";

        var ex = Assert.Throws<InferenceInputException>(() => Parse(json, new byte[4]));

        Assert.Contains("'x'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("both 'data' and", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-4")]
    [InlineData("4.5")]
    [InlineData("\"4\"")]
    [InlineData("null")]
    [InlineData("[4]")]
    public void ParseRequest_rejects_a_binary_data_size_that_is_not_a_whole_number(string size)
    {
        var json = $$$"""{"inputs":[{"name":"x","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":{{{size}}}}}]}""";

        var ex = Assert.Throws<InferenceInputException>(() => Parse(json, new byte[4]));

        Assert.Contains("'x'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a whole number", ex.Message, StringComparison.Ordinal);
        Assert.Contains(size, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_of_plain_json_rejects_an_input_declaring_binary_data()
    {
        var json = Encoding.UTF8.GetBytes(BinaryInput("x", Datatypes.Int32, "[1]", 4));

        var ex = Assert.Throws<InferenceInputException>(() => OipBinary.ParseRequest(json, null, "application/json"));

        Assert.Contains("'x'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(OipBinary.HeaderContentLength, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_still_checks_the_header_before_the_binary_data()
    {
        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", "FLOAT", "[1]", 4), new byte[4]));

        Assert.Contains("unknown datatype 'FLOAT'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_a_bool_byte_other_than_zero_or_one()
    {
        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", Datatypes.Bool, "[3]", 3), [1, 0, 2]));

        Assert.Contains("element 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("byte 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_bytes_whose_length_prefix_is_cut_off()
    {
        byte[] raw = [.. RawData.Encode(Datatypes.Bytes, new[] { "ab" }), 1, 0];

        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", Datatypes.Bytes, "[2]", raw.Length), raw));

        Assert.Contains("element 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("4-byte length", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_bytes_longer_than_what_is_left()
    {
        byte[] raw = [.. RawData.Encode(Datatypes.Bytes, new[] { "ab" }), 9, 0, 0, 0, (byte)'c'];

        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", Datatypes.Bytes, "[2]", raw.Length), raw));

        Assert.Contains("element 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("length of 9 bytes but only 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_bytes_elements_that_do_not_fill_the_binary_data_size()
    {
        var raw = RawData.Encode(Datatypes.Bytes, new[] { "a", "b", "c" });

        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", Datatypes.Bytes, "[2]", raw.Length), raw));

        Assert.Contains("5 bytes left over", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_bytes_fewer_than_the_shape_holds()
    {
        var raw = RawData.Encode(Datatypes.Bytes, new[] { "abcdefgh" });

        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", Datatypes.Bytes, "[2]", raw.Length), raw));

        Assert.Contains("element 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ends after 1 of the 2 elements", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_a_bytes_shape_too_large_for_its_binary_data_size_without_allocating_it()
    {
        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", Datatypes.Bytes, "[8192,8192]", 8), new byte[8]));

        Assert.Contains("at least 4 bytes each", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseRequest_rejects_bytes_that_are_not_utf8()
    {
        byte[] raw = [2, 0, 0, 0, 0xC3, 0x28];

        var ex = Assert.Throws<InferenceInputException>(
            () => Parse(BinaryInput("x", Datatypes.Bytes, "[1]", raw.Length), raw));

        Assert.Contains("element 0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("UTF-8", ex.Message, StringComparison.Ordinal);
    }

    internal static string BinaryInput(string name, string datatype, string shape, long size) =>
        $$$"""{"inputs":[{"name":"{{{name}}}","datatype":"{{{datatype}}}","shape":{{{shape}}},"parameters":{"binary_data_size":{{{size}}}}}]}""";

    internal static InferenceRequest Parse(string json, params byte[][] binary)
    {
        var header = Encoding.UTF8.GetBytes(json);
        byte[] body = [.. header, .. binary.SelectMany(b => b)];
        return OipBinary.ParseRequest(body, header.Length);
    }
}
