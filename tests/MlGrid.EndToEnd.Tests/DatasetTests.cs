using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MlGrid.EndToEnd.Tests;

[Collection(EndToEndCollection.Name)]
public sealed class DatasetTests(MlGridFixture fixture)
{
    private const string Csv = "age,income,city,member\n34,52000.5,Oslo,true\n29,,Bergen,false\n41,61000,Oslo,true\n";

    private const string ParquetContentType = "application/vnd.apache.parquet";

    /// <summary>
    /// <see cref="Csv"/> as a Parquet file (age INT32, income DOUBLE with a null, city STRING, member BOOLEAN; one
    /// uncompressed row group), written by Parquet.Net 6.1.0. Kept as bytes: this project references no Parquet writer.
    /// </summary>
    internal static readonly byte[] SampleParquet = Convert.FromBase64String(
        "UEFSMRUAFRgVGCwVBhUAFQYVBhwYBCkAAAAYBB0AAAAWACgEKQAAABgEHQAAAAAAACIAAAAdAAAAKQAAABUAFTQVNCwVBhUAFQYV" +
        "BhwYCAAAAAAAye1AGAgAAAAAEGTpQBYCKAgAAAAAAMntQBgIAAAAABBk6UAAAAAGAAAAAgECAAIBAAAAABBk6UAAAAAAAMntQBUA" +
        "FUAVQCwVBhUAFQYVBhwYBE9zbG8YBkJlcmdlbhYAKARPc2xvGAZCZXJnZW4AAAACAAAABgEEAAAAT3NsbwYAAABCZXJnZW4EAAAA" +
        "T3NsbxUAFQIVAiwVBhUAFQYVBhw2AAAAAAUVAhlcSARyb290FQgAFQIlABgDYWdlJSJMrBMgEQAAABUKJQIYBmluY29tZQAVDCUC" +
        "GARjaXR5JQBMHAAAABUAJQAYBm1lbWJlcgAWBhkcGUwmCBwVAhklAAYZGANhZ2UVABYGFnIWciYIPBgEKQAAABgEHQAAABYAKAQp" +
        "AAAAGAQdAAAAAAAAJnocFQoZJQAGGRgGaW5jb21lFQAWBhauARauASZ6PBgIAAAAAADJ7UAYCAAAAAAQZOlAFgIoCAAAAAAAye1A" +
        "GAgAAAAAEGTpQAAAACaoAhwVDBklAAYZGARjaXR5FQAWBhaiARaiASaoAjwYBE9zbG8YBkJlcmdlbhYAKARPc2xvGAZCZXJnZW4A" +
        "AAAmygMcFQAZJQAGGRgGbWVtYmVyFQAWBhYsFiwmygM8NgAAAAAW7gMWBjbuAwAoSlBhcnF1ZXQuTmV0IHZlcnNpb24gNi4xLjAg" +
        "KGJ1aWxkIGMxNzlkOTdiZDI1NDliNWY0NGE5MjQxZTcyOWY4NjlkNDk0N2VlNTkpAI4BAABQQVIx");

    private MlGridApp App => fixture.App;

    [Fact]
    public async Task Csv_upload_becomes_a_profiled_version_and_the_same_bytes_give_the_same_version()
    {
        var name = TestNames.Unique("ds");
        using var first = await UploadAsync(name, Csv);
        var body = await first.Content.ReadAsStringAsync();
        Assert.True(first.StatusCode == HttpStatusCode.Created, body);
        var version = JsonDocument.Parse(body).RootElement;
        Assert.Equal(1, version.GetProperty("version").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Csv))), version.GetProperty("sha256").GetString());
        Assert.Equal(Encoding.UTF8.GetByteCount(Csv), version.GetProperty("sizeBytes").GetInt64());
        Assert.Equal(3, version.GetProperty("rows").GetInt64());

        var columns = version.GetProperty("columns").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal("integer", columns["age"].GetProperty("type").GetString());
        Assert.Equal(29, columns["age"].GetProperty("min").GetDouble());
        Assert.Equal(41, columns["age"].GetProperty("max").GetDouble());
        Assert.Equal(104.0 / 3, columns["age"].GetProperty("mean").GetDouble(), 9);
        Assert.Equal("float", columns["income"].GetProperty("type").GetString());
        Assert.Equal(1, columns["income"].GetProperty("nulls").GetInt64());
        Assert.Equal(3, columns["age"].GetProperty("histogram").GetProperty("counts").EnumerateArray().Sum(c => c.GetInt64()));
        Assert.Equal("string", columns["city"].GetProperty("type").GetString());
        var top = columns["city"].GetProperty("topValues")[0];
        Assert.Equal("Oslo", top.GetProperty("value").GetString());
        Assert.Equal(2, top.GetProperty("count").GetInt64());
        Assert.Equal("boolean", columns["member"].GetProperty("type").GetString());

        using var again = await UploadAsync(name, Csv);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(1, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());

        using var second = await UploadAsync(name, Csv + "50,70000,Tromsø,false\n");
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(2, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());

        Assert.Equal(Encoding.UTF8.GetBytes(Csv), await App.Gateway.GetByteArrayAsync($"/api/v1/datasets/{name}/versions/1/content"));
        var dataset = await App.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/datasets/{name}");
        Assert.Equal(2, dataset.GetProperty("latestVersion").GetInt32());
        var list = await App.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/datasets");
        Assert.Contains(list.EnumerateArray(), d => d.GetProperty("name").GetString() == name);
    }

    [Fact]
    public async Task Parquet_upload_becomes_a_version_profiled_like_the_same_csv_and_its_bytes_come_back_as_parquet()
    {
        var name = TestNames.Unique("pq");
        using var first = await UploadAsync(name, SampleParquet, ParquetContentType);
        var body = await first.Content.ReadAsStringAsync();
        Assert.True(first.StatusCode == HttpStatusCode.Created, body);
        var version = JsonDocument.Parse(body).RootElement;
        Assert.Equal(1, version.GetProperty("version").GetInt32());
        Assert.Equal("parquet", version.GetProperty("format").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(SampleParquet)), version.GetProperty("sha256").GetString());
        Assert.Equal(SampleParquet.Length, version.GetProperty("sizeBytes").GetInt64());
        Assert.Equal(3, version.GetProperty("rows").GetInt64());

        var columns = version.GetProperty("columns").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal("integer", columns["age"].GetProperty("type").GetString());
        Assert.Equal(104.0 / 3, columns["age"].GetProperty("mean").GetDouble(), 9);
        Assert.Equal("float", columns["income"].GetProperty("type").GetString());
        Assert.Equal(1, columns["income"].GetProperty("nulls").GetInt64());
        Assert.Equal("string", columns["city"].GetProperty("type").GetString());
        Assert.Equal("boolean", columns["member"].GetProperty("type").GetString());

        // The same data as CSV gets the same profile, column for column.
        using var csv = await UploadAsync(TestNames.Unique("pq-csv"), Csv);
        Assert.Equal(HttpStatusCode.Created, csv.StatusCode);
        var csvColumns = (await csv.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("columns");
        Assert.Equal(csvColumns.GetRawText(), version.GetProperty("columns").GetRawText());

        using var again = await UploadAsync(name, SampleParquet, ParquetContentType);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(1, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());

        using var content = await App.Gateway.GetAsync($"/api/v1/datasets/{name}/versions/1/content");
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal(ParquetContentType, content.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"{name}-v1.parquet", content.Content.Headers.ContentDisposition?.FileNameStar ?? content.Content.Headers.ContentDisposition?.FileName);
        Assert.Equal(SampleParquet, await content.Content.ReadAsByteArrayAsync());
    }

    public static TheoryData<string, byte[], string> BadParquet => new()
    {
        { "csv", Encoding.UTF8.GetBytes(Csv), "not Parquet" },
        { "truncated", SampleParquet[..^100], "does not end with 'PAR1'" },
        { "footer-cut-short", FooterCutShort(), "the file metadata (footer) cannot be read" },
        { "empty", [], "too short to be Parquet" },
    };

    /// <summary>The file with the second half of its footer gone, markers and length redone: the footer ends mid-value.</summary>
    private static byte[] FooterCutShort()
    {
        var footer = BitConverter.ToInt32(SampleParquet, SampleParquet.Length - 8);
        var kept = footer / 2;
        return [.. SampleParquet.AsSpan(0, SampleParquet.Length - 8 - (footer - kept)), .. BitConverter.GetBytes(kept), .. "PAR1"u8];
    }

    [Theory]
    [MemberData(nameof(BadParquet))]
    public async Task Malformed_parquet_is_refused_saying_why_and_nothing_is_stored(string label, byte[] file, string reason)
    {
        var name = TestNames.Unique("badpq");
        using var response = await UploadAsync(name, file, ParquetContentType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{label}: {body}");
        var detail = JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString();
        Assert.StartsWith("The Parquet file cannot be read: ", detail);
        Assert.Contains(reason, detail);
        using var after = await App.Gateway.GetAsync($"/api/v1/datasets/{name}");
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    [Fact]
    public async Task Other_content_types_are_refused_naming_both_formats()
    {
        using var response = await UploadAsync(TestNames.Unique("json"), Encoding.UTF8.GetBytes("{}"), "application/json");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var detail = JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString();
        Assert.Contains("text/csv", detail);
        Assert.Contains(ParquetContentType, detail);
    }

    [Theory]
    [InlineData("a,b\n1,2\n3\n", "line 3")]
    [InlineData("a,b\n1,\"unclosed\n2,3\n", "line 2")]
    [InlineData("a,b\n1,2\n3,4\n5,\"6", "line 4")]
    public async Task Malformed_csv_is_refused_with_its_line_and_nothing_is_stored(string csv, string line)
    {
        var name = TestNames.Unique("bad");
        using var response = await UploadAsync(name, csv);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        Assert.Contains(line, JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString());
        using var after = await App.Gateway.GetAsync($"/api/v1/datasets/{name}");
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    [Fact]
    public async Task Datasets_need_editor_to_write_and_reader_to_read()
    {
        var name = TestNames.Unique("roles");
        using (var created = await UploadAsync(name, Csv))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var (_, reader) = await App.CreateKeyAsync("reader");
        using var reading = App.WithKey(reader);
        using (var get = await reading.GetAsync($"/api/v1/datasets/{name}"))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        }

        using var content = new StringContent(Csv, Encoding.UTF8, "text/csv");
        using var upload = await reading.PostAsync($"/api/v1/datasets/{name}/versions", content);
        Assert.Equal(HttpStatusCode.Forbidden, upload.StatusCode);
    }

    private Task<HttpResponseMessage> UploadAsync(string name, string csv) =>
        UploadAsync(name, Encoding.UTF8.GetBytes(csv), "text/csv");

    private async Task<HttpResponseMessage> UploadAsync(string name, byte[] file, string contentType)
    {
        using var content = new ByteArrayContent(file);
        content.Headers.ContentType = new(contentType);
        return await App.Gateway.PostAsync($"/api/v1/datasets/{name}/versions", content);
    }
}
