using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MlGrid.EndToEnd.Tests;

/// <summary>MLflow's artifact proxy through the gateway: the calls an MLflow client makes for <c>mlflow-artifacts:/</c> runs.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class MlflowArtifactTests(MlGridFixture fixture)
{
    public const string Artifacts = "/api/2.0/mlflow-artifacts/artifacts";

    private MlGridApp App => fixture.App;

    [Fact]
    public async Task Uploaded_files_download_as_the_same_bytes_with_mlflow_headers()
    {
        using var editor = await EditorAsync();
        var root = RunRoot();

        // Each file is sent with the Content-Type an MLflow client guesses from its name (or none at all).
        var files = new (string Path, byte[] Bytes, string? SentAs, string ServedAs)[]
        {
            ($"{root}/metrics.json", Encoding.UTF8.GetBytes("{\"loss\": 0.25}"), "text/plain", "text/plain"),
            ($"{root}/model/MLmodel", Encoding.UTF8.GetBytes("flavors:\n  onnx: {}\n"), "text/plain", "text/plain"),
            ($"{root}/model/model.onnx", RandomBytes(9 * 1024 * 1024 + 321), "application/octet-stream", "application/octet-stream"),
            ($"{root}/plots/loss.png", RandomBytes(1000), "image/png", "image/png"),
            ($"{root}/empty.bin", [], null, "application/octet-stream"),
        };

        foreach (var (path, bytes, sentAs, _) in files)
        {
            await PutAsync(editor, path, bytes, sentAs);
        }

        foreach (var (path, bytes, _, servedAs) in files)
        {
            using var response = await editor.GetAsync($"{Artifacts}/{path}");
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} gave {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
            Assert.Equal(bytes, body);
            Assert.Equal(servedAs, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
            Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
            Assert.Equal(path[(path.LastIndexOf('/') + 1)..], response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal($"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))}\"", response.Headers.ETag?.Tag);
        }
    }

    [Fact]
    public async Task Percent_encoded_names_are_stored_decoded_as_mlflow_does()
    {
        using var editor = await EditorAsync();
        var root = RunRoot();
        await PutAsync(editor, $"{root}/with%20space.txt", "a"u8.ToArray());
        await PutAsync(editor, $"{root}/nested%2Finside.txt", "b"u8.ToArray());

        Assert.Equal(
            """{"files":[{"path":"nested","is_dir":true},{"path":"with space.txt","is_dir":false,"file_size":1}]}""",
            await ListAsync(editor, root));
        Assert.Equal("b"u8.ToArray(), await editor.GetByteArrayAsync($"{Artifacts}/{root}/nested/inside.txt"));
    }

    [Fact]
    public async Task Listing_shows_one_level_named_relative_to_the_directory_as_mlflow_does()
    {
        using var editor = await EditorAsync();
        var experiment = TestNames.Unique("exp");
        var root = $"{experiment}/run/artifacts";
        await PutAsync(editor, $"{root}/a.txt", "abc"u8.ToArray());
        await PutAsync(editor, $"{root}/z.bin", new byte[12]);
        await PutAsync(editor, $"{root}/sub/b.txt", "hello"u8.ToArray());
        await PutAsync(editor, $"{root}/sub/deeper/c.bin", new byte[7]);

        Assert.Equal(
            """{"files":[{"path":"a.txt","is_dir":false,"file_size":3},{"path":"sub","is_dir":true},{"path":"z.bin","is_dir":false,"file_size":12}]}""",
            await ListAsync(editor, root));
        Assert.Equal(
            """{"files":[{"path":"b.txt","is_dir":false,"file_size":5},{"path":"deeper","is_dir":true}]}""",
            await ListAsync(editor, $"{root}/sub"));
        Assert.Equal("""{"files":[{"path":"run","is_dir":true}]}""", await ListAsync(editor, experiment));

        // Nothing there, or a file rather than a directory: MLflow answers an empty message, without "files".
        Assert.Equal("{}", await ListAsync(editor, $"{root}/missing"));
        Assert.Equal("{}", await ListAsync(editor, $"{root}/a.txt"));

        // The root listing (no path, or MLflow's empty path) shows the experiment as a directory.
        foreach (var query in new[] { "", "?path=" })
        {
            using var response = await editor.GetAsync(Artifacts + query);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var entries = (await ReadJsonAsync(response)).GetProperty("files").EnumerateArray();
            Assert.Contains(entries, e => e.GetProperty("path").GetString() == experiment && e.GetProperty("is_dir").GetBoolean());
        }
    }

    [Fact]
    public async Task Uploading_to_an_existing_path_replaces_its_bytes()
    {
        using var editor = await EditorAsync();
        var root = RunRoot();
        await PutAsync(editor, $"{root}/weights.bin", RandomBytes(5 * 1024 * 1024));
        var replacement = RandomBytes(1234);
        await PutAsync(editor, $"{root}/weights.bin", replacement);

        Assert.Equal(replacement, await editor.GetByteArrayAsync($"{Artifacts}/{root}/weights.bin"));
        Assert.Equal("""{"files":[{"path":"weights.bin","is_dir":false,"file_size":1234}]}""", await ListAsync(editor, root));
    }

    [Fact]
    public async Task Deleting_removes_a_file_or_a_whole_directory_and_missing_files_answer_404_in_mlflow_shape()
    {
        using var editor = await EditorAsync();
        var root = RunRoot();
        await PutAsync(editor, $"{root}/keep.txt", "keep"u8.ToArray());
        await PutAsync(editor, $"{root}/drop.txt", "drop"u8.ToArray());
        await PutAsync(editor, $"{root}/model/model.onnx", RandomBytes(100));
        await PutAsync(editor, $"{root}/model/data/weights.bin", RandomBytes(100));

        await DeleteAsync(editor, $"{root}/drop.txt");
        await DeleteAsync(editor, $"{root}/model");
        Assert.Equal("""{"files":[{"path":"keep.txt","is_dir":false,"file_size":4}]}""", await ListAsync(editor, root));
        Assert.Equal("{}", await ListAsync(editor, $"{root}/model"));

        using var missing = await editor.GetAsync($"{Artifacts}/{root}/drop.txt");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var error = await ReadJsonAsync(missing);
        Assert.Equal("RESOURCE_DOES_NOT_EXIST", error.GetProperty("error_code").GetString());
        Assert.Contains("drop.txt", error.GetProperty("message").GetString());
        Assert.Equal(["error_code", "message"], error.EnumerateObject().Select(p => p.Name).ToArray());

        // A directory is not a file to download, and deleting what is not there is not an error (as in MLflow).
        using (var directory = await editor.GetAsync($"{Artifacts}/{root}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, directory.StatusCode);
        }

        await DeleteAsync(editor, $"{root}/never-there.txt");
        Assert.Equal("keep"u8.ToArray(), await editor.GetByteArrayAsync($"{Artifacts}/{root}/keep.txt"));
    }

    [Theory]
    [InlineData("..%2F..%2F..%2F{marker}", 400)]
    [InlineData("{root}/..%2F..%2F..%2F..%2F{marker}", 400)]
    [InlineData("{root}/%252e%252e%252f%252e%252e%252f{marker}", 400)]
    [InlineData("{root}/a%5C..%5C..%5C{marker}", 400)]
    [InlineData("{root}/a\\..\\..\\{marker}", 400)]
    [InlineData("%2Ftmp%2F{marker}", 400)]
    [InlineData("{root}//{marker}", 400)]
    [InlineData("{root}/x%01/{marker}", 400)]
    [InlineData("{root}/%23/{marker}", 400)]
    [InlineData("{root}/{marker}.", 400)]
    // Kestrel resolves decoded dot segments before routing: this one leaves the artifacts route altogether.
    [InlineData("{root}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/{marker}", 404)]
    public async Task Traversal_and_malformed_paths_are_refused_and_nothing_is_written(string template, int status)
    {
        using var editor = await EditorAsync();
        var marker = TestNames.Unique("escape");
        var path = template.Replace("{root}", RunRoot(), StringComparison.Ordinal).Replace("{marker}", marker, StringComparison.Ordinal);

        using (var put = new HttpRequestMessage(HttpMethod.Put, RawUri(editor, $"{Artifacts}/{path}")) { Content = new ByteArrayContent("evil"u8.ToArray()) })
        using (var response = await editor.SendAsync(put))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == status, $"PUT {path} gave {(int)response.StatusCode}: {body}");
            Assert.Equal(status == 400 ? "INVALID_PARAMETER_VALUE" : "ENDPOINT_NOT_FOUND",
                JsonDocument.Parse(body).RootElement.GetProperty("error_code").GetString());
        }

        using (var get = await editor.GetAsync(RawUri(editor, $"{Artifacts}/{path}")))
        {
            Assert.True((int)get.StatusCode == status, $"GET {path} gave {(int)get.StatusCode}");
        }

        using (var list = await editor.GetAsync(RawUri(editor, $"{Artifacts}?path={path}")))
        {
            Assert.True(list.StatusCode == HttpStatusCode.BadRequest, $"listing {path} gave {(int)list.StatusCode}: {await list.Content.ReadAsStringAsync()}");
        }

        var storage = await App.StorageAsync();
        await foreach (var container in storage.GetBlobContainersAsync())
        {
            await foreach (var blob in storage.GetBlobContainerClient(container.Name).GetBlobsAsync())
            {
                Assert.DoesNotContain(marker, blob.Name, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Listing_a_traversal_path_is_refused_as_an_invalid_parameter()
    {
        using var editor = await EditorAsync();
        foreach (var path in new[] { "..", "a/../..", "/etc", "%2e%2e/x", "a\\b" })
        {
            using var response = await editor.GetAsync($"{Artifacts}?path={Uri.EscapeDataString(path)}");
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"listing {path} gave {(int)response.StatusCode}: {body}");
            Assert.Equal("INVALID_PARAMETER_VALUE", JsonDocument.Parse(body).RootElement.GetProperty("error_code").GetString());
        }
    }

    [Fact]
    public async Task Readers_can_download_and_list_but_not_upload_or_delete()
    {
        using var editor = await EditorAsync();
        var root = RunRoot();
        await PutAsync(editor, $"{root}/model.onnx", "original"u8.ToArray());

        var (_, readerKey) = await App.CreateKeyAsync("reader");
        using var reader = App.WithKey(readerKey);
        Assert.Equal("original"u8.ToArray(), await reader.GetByteArrayAsync($"{Artifacts}/{root}/model.onnx"));
        Assert.Contains("model.onnx", await ListAsync(reader, root));

        using (var put = await reader.PutAsync($"{Artifacts}/{root}/model.onnx", new ByteArrayContent("replaced"u8.ToArray())))
        {
            Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
            Assert.Equal("PERMISSION_DENIED", (await ReadJsonAsync(put)).GetProperty("error_code").GetString());
        }

        using (var delete = await reader.DeleteAsync($"{Artifacts}/{root}/model.onnx"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        }

        using (var anonymous = await App.Anonymous.GetAsync($"{Artifacts}/{root}/model.onnx"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        Assert.Equal("original"u8.ToArray(), await editor.GetByteArrayAsync($"{Artifacts}/{root}/model.onnx"));
    }

    [Fact]
    public async Task Other_calls_answer_in_mlflow_error_shape_and_multipart_falls_back_to_plain_uploads()
    {
        using var editor = await EditorAsync();
        var root = RunRoot();

        using (var post = await editor.PostAsync($"{Artifacts}/{root}/model.onnx", new ByteArrayContent([1, 2, 3])))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
            Assert.Equal("BAD_REQUEST", (await ReadJsonAsync(post)).GetProperty("error_code").GetString());
            Assert.Contains("PUT", post.Content.Headers.Allow);
        }

        // MLflow clients fall back to a plain PUT when the multipart message starts with exactly this text.
        using (var create = await editor.PostAsync($"/api/2.0/mlflow-artifacts/mpu/create/{root}",
            new StringContent("""{"path":"model.onnx","num_parts":2}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.NotImplemented, create.StatusCode);
            var error = await ReadJsonAsync(create);
            Assert.Equal("NOT_IMPLEMENTED", error.GetProperty("error_code").GetString());
            Assert.StartsWith("Multipart upload is not supported for the current artifact repository", error.GetProperty("message").GetString());
        }

        using (var presigned = await editor.GetAsync($"/api/2.0/mlflow-artifacts/presigned/{root}/model.onnx"))
        {
            Assert.Equal(HttpStatusCode.NotImplemented, presigned.StatusCode);
        }

        using (var unknown = await editor.GetAsync("/api/2.0/mlflow-artifacts/nothing-here"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal("ENDPOINT_NOT_FOUND", (await ReadJsonAsync(unknown)).GetProperty("error_code").GetString());
        }

        Assert.Equal("{}", await ListAsync(editor, root));
    }

    [Fact]
    public async Task Uploads_over_the_configured_limit_are_refused_with_413_in_mlflow_shape_and_nothing_is_stored()
    {
        // The limit is read by the control plane, a child process of the AppHost, which inherits this process's
        // environment; set it only while this app starts (end-to-end tests run one at a time).
        const string Setting = "Mlflow__MaxArtifactBytes";
        Environment.SetEnvironmentVariable(Setting, "1048576");
        MlGridApp app;
        try
        {
            app = await MlGridApp.StartAsync(MlGridApp.NewDataDirectory(), MlGridFixture.AdminKey);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Setting, null);
        }

        await using (app)
        {
            var tooLarge = RandomBytes(1024 * 1024 + 1);
            using (var declared = await app.Gateway.PutAsync($"{Artifacts}/limits/declared.bin", new ByteArrayContent(tooLarge)))
            {
                Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
                Assert.Equal("RESOURCE_EXHAUSTED", (await ReadJsonAsync(declared)).GetProperty("error_code").GetString());
            }

            // Without a Content-Length the limit is found while the body streams in.
            using (var chunked = await app.Gateway.PutAsync($"{Artifacts}/limits/chunked.bin", new StreamContent(new UnknownLengthStream(tooLarge))))
            {
                Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
                Assert.Equal("RESOURCE_EXHAUSTED", (await ReadJsonAsync(chunked)).GetProperty("error_code").GetString());
            }

            await PutAsync(app.Gateway, "limits/fits.bin", tooLarge[..(1024 * 1024)]);
            Assert.Equal("""{"files":[{"path":"fits.bin","is_dir":false,"file_size":1048576}]}""", await ListAsync(app.Gateway, "limits"));
        }
    }

    private async Task<HttpClient> EditorAsync()
    {
        var (_, key) = await App.CreateKeyAsync("editor");
        return App.WithKey(key);
    }

    /// <summary>Where MLflow keeps a run's artifacts: <c>&lt;experiment&gt;/&lt;run&gt;/artifacts</c>.</summary>
    private static string RunRoot() => $"{TestNames.Unique("exp")}/{Guid.NewGuid():N}/artifacts";

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    /// <summary>The URI exactly as written: no unescaping of <c>%2e</c> and no removal of dot segments by the client.</summary>
    private static Uri RawUri(HttpClient client, string pathAndQuery) =>
        new(client.BaseAddress!.GetLeftPart(UriPartial.Authority) + pathAndQuery,
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });

    internal static async Task PutAsync(HttpClient client, string path, byte[] bytes, string? contentType = "application/octet-stream")
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = contentType is null ? null : new MediaTypeHeaderValue(contentType);
        using var response = await client.PutAsync($"{Artifacts}/{path}", content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT {path} gave {(int)response.StatusCode}: {body}");
        Assert.Equal("{}", body);
    }

    internal static async Task<string> ListAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync($"{Artifacts}?path={Uri.EscapeDataString(path)}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Listing {path} gave {(int)response.StatusCode}: {body}");
        return body;
    }

    private static async Task DeleteAsync(HttpClient client, string path)
    {
        using var response = await client.DeleteAsync($"{Artifacts}/{path}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"DELETE {path} gave {(int)response.StatusCode}: {body}");
        Assert.Equal("{}", body);
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    /// <summary>Bytes whose length the client cannot see, so they are sent chunked.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
