using System.Text;

namespace MlGrid.Inference.Tests;

/// <summary>The explicit limits a request meets before any data is allocated: element count, name lengths, nesting.</summary>
public sealed class OipJsonLimitsTests
{
    private static InferenceInputException Refused(string json) =>
        Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void Tensor_with_more_elements_than_the_limit_is_refused_before_reading_data()
    {
        var error = Refused("""{"inputs":[{"name":"x","datatype":"FP32","shape":[65536,65536],"data":[1]}]}""");
        Assert.Contains($"at most {Shapes.MaxElements}", error.Message);
    }

    [Fact]
    public void Tensor_at_the_element_limit_is_judged_on_its_data_not_its_size()
    {
        var error = Refused($$"""{"inputs":[{"name":"x","datatype":"UINT8","shape":[{{Shapes.MaxElements}}],"data":[1]}]}""");
        Assert.Contains("needs", error.Message);
    }

    [Fact]
    public void Overlong_tensor_name_is_refused()
    {
        var name = new string('n', OipJson.MaxNameLength + 1);
        var error = Refused($$"""{"inputs":[{"name":"{{name}}","datatype":"FP32","shape":[1],"data":[1]}]}""");
        Assert.Contains($"at most {OipJson.MaxNameLength}", error.Message);
    }

    [Fact]
    public void Overlong_request_id_is_refused()
    {
        var id = new string('i', OipJson.MaxNameLength + 1);
        var error = Refused($$"""{"id":"{{id}}","inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""");
        Assert.Contains("'id'", error.Message);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_refused_as_invalid_json()
    {
        var depth = OipJson.MaxDepth + 5;
        var data = new string('[', depth) + "1" + new string(']', depth);
        var error = Refused($$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":{{data}}}]}""");
        Assert.Contains("not valid JSON", error.Message);
    }

    [Fact]
    public void Invalid_utf8_in_a_string_is_refused()
    {
        var prefix = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":[" """.TrimEnd());
        var suffix = Encoding.UTF8.GetBytes("\"]}]}");
        byte[] body = [.. prefix, 0xC3, 0x28, .. suffix];
        Assert.Throws<InferenceInputException>(() => OipJson.ParseRequest(body));
    }
}
