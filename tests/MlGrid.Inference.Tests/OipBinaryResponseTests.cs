using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference.Tests;

public sealed class OipBinaryResponseTests
{
    public static TheoryData<string> AllDatatypes => RawData.AllDatatypes;

    [Theory]
    [MemberData(nameof(AllDatatypes))]
    public void SerializeResponse_writes_binary_output_of_every_datatype_in_the_raw_layout(string datatype)
    {
        var values = RawData.Sample(datatype);
        var response = new InferenceResponse("m", "3", "req", [new InferenceTensor("y", datatype, [2, 2], values)]);

        var body = OipBinary.SerializeResponse(response, _ => true);

        Assert.Equal("application/octet-stream", body.ContentType);
        var headerLength = Assert.IsType<int>(body.JsonHeaderLength);
        Assert.Equal(RawData.Encode(datatype, values), body.Content[headerLength..]);
        var output = Assert.Single(RawData.DecodeResponse(body.Content, headerLength));
        Assert.Equal(("y", datatype, true), (output.Name, output.Datatype, output.Binary));
        Assert.Equal([2L, 2L], output.Shape);
        Assert.Equal(values.Cast<object>(), output.Data!.Cast<object>());
    }

    [Fact]
    public void SerializeResponse_header_keeps_model_name_version_and_id()
    {
        var response = new InferenceResponse("resnet", "7", "req-1", [new InferenceTensor("y", Datatypes.Int32, [1], new[] { 1 })]);

        var body = OipBinary.SerializeResponse(response, _ => true);

        using var header = JsonDocument.Parse(body.Content.AsMemory(0, body.JsonHeaderLength!.Value));
        Assert.Equal("resnet", header.RootElement.GetProperty("model_name").GetString());
        Assert.Equal("7", header.RootElement.GetProperty("model_version").GetString());
        Assert.Equal("req-1", header.RootElement.GetProperty("id").GetString());
        Assert.Equal(4, header.RootElement.GetProperty("outputs")[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
    }

    [Fact]
    public void SerializeResponse_without_binary_outputs_is_the_plain_json_response()
    {
        var response = Response();

        var body = OipBinary.SerializeResponse(response, _ => false);

        Assert.Null(body.JsonHeaderLength);
        Assert.Equal("application/json", body.ContentType);
        Assert.Equal(OipJson.SerializeResponse(response), body.Content);
    }

    [Fact]
    public void SerializeResponse_sends_only_the_chosen_outputs_as_binary_in_output_order()
    {
        var response = Response();

        var body = OipBinary.SerializeResponse(response, name => name != "b");

        var outputs = RawData.DecodeResponse(body.Content, body.JsonHeaderLength!.Value);
        Assert.Equal(["a", "b", "c"], outputs.Select(o => o.Name));
        Assert.Equal([true, false, true], outputs.Select(o => o.Binary));
        Assert.Equal(new[] { 1.5f, -2f }, (float[])outputs[0].Data!);
        Assert.Equal(["x", "yz"], (string[])outputs[2].Data!);
        using var header = JsonDocument.Parse(body.Content.AsMemory(0, body.JsonHeaderLength.Value));
        var json = header.RootElement.GetProperty("outputs")[1];
        Assert.Equal([7L, 8L, 9L], json.GetProperty("data").EnumerateArray().Select(e => e.GetInt64()));
        Assert.False(json.TryGetProperty("parameters", out _));
    }

    [Theory]
    [InlineData("""{"inputs":[],"parameters":{"binary_data_output":true}}""", new[] { true, true, true })]
    [InlineData("""{"inputs":[],"parameters":{"binary_data_output":false}}""", new[] { false, false, false })]
    [InlineData("""{"inputs":[]}""", new[] { false, false, false })]
    [InlineData("""{"inputs":[],"outputs":[{"name":"a"},{"name":"b","parameters":{"binary_data":true}},{"name":"c"}]}""", new[] { false, true, false })]
    [InlineData("""{"inputs":[],"parameters":{"binary_data_output":true},"outputs":[{"name":"a"},{"name":"b","parameters":{"binary_data":false}},{"name":"c"}]}""", new[] { true, false, true })]
    [InlineData("""{"inputs":[],"parameters":{"binary_data_output":false},"outputs":[{"name":"a","parameters":{"binary_data":true}},{"name":"b"},{"name":"c"}]}""", new[] { true, false, false })]
    public void Requests_choose_binary_outputs_by_binary_data_output_and_per_output_binary_data(string request, bool[] binary)
    {
        var parsed = OipJson.ParseRequest(Encoding.UTF8.GetBytes(request));

        var body = OipBinary.SerializeResponse(Response(), parsed.IsBinaryOutput);

        if (binary.Any(b => b))
        {
            Assert.Equal(binary, RawData.DecodeResponse(body.Content, body.JsonHeaderLength!.Value).Select(o => o.Binary));
        }
        else
        {
            Assert.Null(body.JsonHeaderLength);
            Assert.Equal(OipJson.SerializeResponse(Response()), body.Content);
        }
    }

    [Fact]
    public void RawSize_counts_a_length_prefix_and_utf8_bytes_per_bytes_element()
    {
        var tensor = new InferenceTensor("s", Datatypes.Bytes, [3], new[] { "", "é", "日本" });

        Assert.Equal(4 + 0 + 4 + 2 + 4 + 6, OipBinary.RawSize(tensor));
    }

    [Fact]
    public void WriteRaw_rejects_a_destination_of_the_wrong_size()
    {
        var tensor = new InferenceTensor("y", Datatypes.Fp32, [2], new[] { 1f, 2f });

        Assert.Throws<ArgumentException>(() => OipBinary.WriteRaw(tensor, new byte[7]));
    }

    [Fact]
    public void SerializeResponse_rejects_data_the_datatype_cannot_hold()
    {
        var response = new InferenceResponse("m", "1", null, [new InferenceTensor("y", Datatypes.Int8, [1], new byte[] { 1 })]);

        Assert.Throws<ArgumentException>(() => OipBinary.SerializeResponse(response, _ => true));
    }

    private static InferenceResponse Response() => new("m", "1", null,
    [
        new InferenceTensor("a", Datatypes.Fp32, [2], new[] { 1.5f, -2f }),
        new InferenceTensor("b", Datatypes.Int64, [1, 3], new[] { 7L, 8L, 9L }),
        new InferenceTensor("c", Datatypes.Bytes, [2], new[] { "x", "yz" }),
    ]);
}
