using MlGrid.Contracts;

namespace MlGrid.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ModelGrainTests(ClusterFixture fixture)
{
    private readonly IClusterClient _client = fixture.Client;

    private IModelGrain NewModel() => _client.GetGrain<IModelGrain>(TestData.UniqueName("model"));

    [Fact]
    public async Task AddVersion_numbers_versions_from_one()
    {
        var model = NewModel();

        var first = await model.AddVersion(TestData.ModelFile(1));
        var second = await model.AddVersion(TestData.ModelFile(2));
        var third = await model.AddVersion(TestData.ModelFile(3));

        Assert.Equal([1, 2, 3], new[] { first.Version, second.Version, third.Version });
        Assert.Equal(model.GetPrimaryKeyString(), third.Name);
        Assert.Equal(TestData.ModelFile(3).Sha256, third.Sha256);
        Assert.Equal(TestData.ModelFile(3).SizeBytes, third.SizeBytes);
        Assert.Empty(third.Aliases);
    }

    [Fact]
    public async Task Get_returns_versions_and_latest()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));
        await model.AddVersion(TestData.ModelFile(2));

        var info = await model.Get();

        Assert.NotNull(info);
        Assert.Equal(model.GetPrimaryKeyString(), info.Name);
        Assert.Equal(2, info.LatestVersion);
        Assert.Equal([1, 2], info.Versions.Select(v => v.Version));
        Assert.Equal(TestData.ModelFile(1).Sha256, info.Versions[0].Sha256);
        Assert.Equal("input", Assert.Single(info.Versions[1].Signature!.Inputs).Name);
        Assert.Empty(info.Aliases);
    }

    [Fact]
    public async Task Get_of_model_without_versions_is_null()
    {
        Assert.Null(await NewModel().Get());
    }

    [Fact]
    public async Task GetVersion_finds_version_by_number()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));
        await model.AddVersion(TestData.ModelFile(2));

        var version = await model.GetVersion("1");

        Assert.NotNull(version);
        Assert.Equal(1, version.Version);
        Assert.Equal(TestData.ModelFile(1).Sha256, version.Sha256);
    }

    [Fact]
    public async Task GetVersion_finds_version_by_alias()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));
        await model.AddVersion(TestData.ModelFile(2));
        await model.SetAlias("champion", 1);

        var version = await model.GetVersion("champion");

        Assert.NotNull(version);
        Assert.Equal(1, version.Version);
        Assert.Equal(["champion"], version.Aliases);
    }

    [Theory]
    [InlineData("3")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("challenger")]
    [InlineData("")]
    public async Task GetVersion_of_unknown_number_or_alias_is_null(string versionOrAlias)
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));
        await model.AddVersion(TestData.ModelFile(2));

        Assert.Null(await model.GetVersion(versionOrAlias));
    }

    [Fact]
    public async Task GetVersion_of_model_without_versions_is_null()
    {
        Assert.Null(await NewModel().GetVersion("1"));
    }

    [Fact]
    public async Task SetAlias_to_missing_version_is_refused_as_not_found()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));

        var error = await TestData.RefusedAsync(RequestErrorKind.NotFound, () => model.SetAlias("champion", 2));

        Assert.Contains("version 2", error.Message, StringComparison.Ordinal);
        Assert.Null(await model.GetVersion("champion"));
    }

    [Theory]
    [InlineData("1abc")]
    [InlineData("")]
    [InlineData("-champion")]
    [InlineData("has space")]
    public async Task SetAlias_refuses_invalid_alias(string alias)
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));

        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid, () => model.SetAlias(alias, 1));

        Assert.Contains("alias", error.Message, StringComparison.Ordinal);
        var info = await model.Get();
        Assert.NotNull(info);
        Assert.Empty(info.Aliases);
    }

    [Fact]
    public async Task SetAlias_returns_the_version_with_its_aliases()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));
        await model.SetAlias("stable", 1);

        var version = await model.SetAlias("champion", 1);

        Assert.Equal(1, version.Version);
        Assert.Equal(["champion", "stable"], version.Aliases);
    }

    [Fact]
    public async Task SetAlias_moves_alias_to_another_version()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));
        await model.AddVersion(TestData.ModelFile(2));
        await model.SetAlias("champion", 1);

        await model.SetAlias("champion", 2);

        Assert.Equal(2, (await model.GetVersion("champion"))?.Version);
        var info = await model.Get();
        Assert.NotNull(info);
        Assert.Equal(2, info.Aliases["champion"]);
        Assert.Empty(info.Versions[0].Aliases);
        Assert.Equal(["champion"], info.Versions[1].Aliases);
    }

    [Fact]
    public async Task DeleteAlias_is_true_when_the_alias_existed_then_false()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));
        await model.SetAlias("champion", 1);

        Assert.True(await model.DeleteAlias("champion"));
        Assert.False(await model.DeleteAlias("champion"));
        Assert.Null(await model.GetVersion("champion"));
    }

    [Fact]
    public async Task DeleteAlias_of_unknown_alias_is_false()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));

        Assert.False(await model.DeleteAlias("never-set"));
    }

    [Fact]
    public async Task AddVersion_lists_model_in_catalog()
    {
        var model = NewModel();

        await model.AddVersion(TestData.ModelFile(1));

        var names = await _client.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).List();
        Assert.Contains(model.GetPrimaryKeyString(), names);
    }

    [Theory]
    [InlineData("-starts-with-dash")]
    [InlineData("has space")]
    [InlineData("slash/in-name")]
    public async Task AddVersion_refuses_invalid_model_name(string name)
    {
        var model = _client.GetGrain<IModelGrain>(name);

        var error = await TestData.RefusedAsync(RequestErrorKind.Invalid, () => model.AddVersion(TestData.ModelFile(1)));

        Assert.Contains("model name", error.Message, StringComparison.Ordinal);
        Assert.Null(await model.Get());
        Assert.DoesNotContain(name, await _client.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).List());
    }

    [Fact]
    public async Task AddVersion_refuses_name_longer_than_63_characters()
    {
        var model = _client.GetGrain<IModelGrain>(new string('m', Names.MaxLength + 1));

        await TestData.RefusedAsync(RequestErrorKind.Invalid, () => model.AddVersion(TestData.ModelFile(1)));
    }

    [Fact]
    public async Task Register_creates_a_model_without_versions_once()
    {
        var model = NewModel();

        var registered = await model.Register("churn", [new TrackingTag("team", "risk")]);

        Assert.Null(registered.LatestVersion);
        Assert.Empty(registered.Versions);
        Assert.Equal("churn", registered.Description);
        Assert.Equal([new TrackingTag("team", "risk")], registered.Tags);
        Assert.Contains(model.GetPrimaryKeyString(), await _client.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).List());
        await TestData.RefusedAsync(RequestErrorKind.AlreadyExists, () => model.Register(null, []));
        Assert.Equal(1, (await model.AddVersion(TestData.ModelFile(1))).Version);
        await TestData.RefusedAsync(RequestErrorKind.AlreadyExists, () => model.Register(null, []));
    }

    [Fact]
    public async Task Calls_on_a_model_that_is_not_registered_are_refused_and_register_nothing()
    {
        var model = NewModel();

        await TestData.RefusedAsync(RequestErrorKind.NotFound, () => model.Describe("x"));
        await TestData.RefusedAsync(RequestErrorKind.NotFound, () => model.SetTag(new TrackingTag("k", "v")));
        await TestData.RefusedAsync(RequestErrorKind.NotFound, () => model.Delete());
        await TestData.RefusedAsync(RequestErrorKind.NotFound, () => model.DescribeVersion(1, "x"));
        await TestData.RefusedAsync(RequestErrorKind.NotFound, () => model.TransitionStage(1, ModelStages.Staging, false));

        Assert.Null(await model.Get());
    }

    [Fact]
    public async Task A_deleted_version_is_gone_with_its_aliases_and_its_number_is_not_given_again()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));
        await model.AddVersion(TestData.ModelFile(2));
        await model.SetAlias("champion", 2);

        await model.DeleteVersion(2);

        Assert.Null(await model.GetVersion("2"));
        Assert.Null(await model.GetVersion("champion"));
        var info = await model.Get();
        Assert.Equal(1, info!.LatestVersion);
        Assert.Empty(info.Aliases);
        await TestData.RefusedAsync(RequestErrorKind.NotFound, () => model.DeleteVersion(2));
        await TestData.RefusedAsync(RequestErrorKind.NotFound, () => model.SetAlias("champion", 2));
        Assert.Equal(3, (await model.AddVersion(TestData.ModelFile(3))).Version);
    }

    [Fact]
    public async Task Deleting_a_model_removes_it_and_a_new_model_of_that_name_starts_at_one()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1));
        await model.AddVersion(TestData.ModelFile(2));

        await model.Delete();

        Assert.Null(await model.Get());
        Assert.Null(await model.GetVersion("1"));
        Assert.DoesNotContain(model.GetPrimaryKeyString(), await _client.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).List());
        Assert.Equal(1, (await model.AddVersion(TestData.ModelFile(3))).Version);
    }

    [Fact]
    public async Task Transition_with_archive_moves_the_versions_in_that_stage_to_archived()
    {
        var model = NewModel();
        for (var i = 1; i <= 3; i++)
        {
            await model.AddVersion(TestData.ModelFile(i));
        }

        await model.TransitionStage(1, "production", archiveExisting: false);
        await model.TransitionStage(2, ModelStages.Production, archiveExisting: false);
        var third = await model.TransitionStage(3, ModelStages.Production, archiveExisting: true);

        Assert.Equal(ModelStages.Production, third.Stage);
        Assert.Equal(ModelStages.Archived, (await model.GetVersion("1"))!.Stage);
        Assert.Equal(ModelStages.Archived, (await model.GetVersion("2"))!.Stage);
        await TestData.RefusedAsync(RequestErrorKind.Invalid, () => model.TransitionStage(1, "Shipped", false));
        Assert.Equal(ModelStages.Archived, (await model.GetVersion("1"))!.Stage);
    }

    [Fact]
    public async Task Version_tags_and_descriptions_change_only_their_version()
    {
        var model = NewModel();
        await model.AddVersion(TestData.ModelFile(1) with { Tags = [new TrackingTag("a", "1")], Description = "first" });
        await model.AddVersion(TestData.ModelFile(2));

        await model.SetVersionTag(1, new TrackingTag("b", "2"));
        await model.DeleteVersionTag(1, "a");
        await model.DeleteVersionTag(1, "never-set");
        var described = await model.DescribeVersion(2, "second");

        var first = await model.GetVersion("1");
        Assert.Equal([new TrackingTag("b", "2")], first!.Tags);
        Assert.Equal("first", first.Description);
        Assert.Equal("second", described.Description);
        Assert.Empty(described.Tags);
        Assert.True(described.UpdatedAt >= described.CreatedAt);
    }

    [Fact]
    public async Task A_version_without_an_onnx_file_is_kept_and_says_why()
    {
        var model = NewModel();

        var version = await model.AddVersion(new NewModelVersion(null, 0, null, "s3://bucket/model", StatusMessage: "not readable"));

        Assert.False(version.IsOnnx);
        Assert.Equal("s3://bucket/model", version.Source);
        Assert.Equal("not readable", version.StatusMessage);
        Assert.Equal(1, (await model.Get())!.LatestVersion);
    }
}
