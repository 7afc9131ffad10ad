using MlGrid.Contracts;

namespace MlGrid.Governance.Tests;

public sealed class AccessPolicyTests
{
    private static Principal As(Role role, params string[] endpoints) => new("key_0123456789ab", "ci", role, endpoints);

    public static TheoryData<string, string, Role, bool> Matrix => new()
    {
        // Keys and audit: admin only.
        { "POST", "/api/v1/keys", Role.Admin, true },
        { "GET", "/api/v1/keys", Role.Editor, false },
        { "GET", "/api/v1/keys", Role.Reader, false },
        { "DELETE", "/api/v1/keys/key_1", Role.Editor, false },
        { "GET", "/api/v1/audit", Role.Admin, true },
        { "GET", "/api/v1/audit/verify", Role.Reader, false },
        { "GET", "/gateway/v1/stats", Role.Editor, false },
        { "GET", "/gateway/v1/stats", Role.Admin, true },

        // The management API: readers read, editors write.
        { "GET", "/api/v1/models", Role.Reader, true },
        { "GET", "/api/v1/models", Role.Predictor, false },
        { "POST", "/api/v1/models/m/versions", Role.Reader, false },
        { "POST", "/api/v1/models/m/versions", Role.Editor, true },
        { "PUT", "/api/v1/endpoints/e", Role.Editor, true },
        { "PATCH", "/api/v1/endpoints/e/traffic", Role.Reader, false },
        { "DELETE", "/api/v1/endpoints/e", Role.Admin, true },
        { "GET", "/api/v1/workers", Role.Reader, true },
        { "POST", "/api/v1/datasets/d/versions", Role.Editor, true },
        { "POST", "/api/v1/training-jobs", Role.Reader, false },

        // MLflow: same rules; searches are POSTs that only read.
        { "POST", "/api/2.0/mlflow/runs/search", Role.Reader, true },
        { "POST", "/api/2.0/mlflow/runs/create", Role.Reader, false },
        { "POST", "/api/2.0/mlflow/runs/log-metric", Role.Editor, true },
        { "GET", "/api/2.0/mlflow/experiments/get", Role.Predictor, false },
        { "PUT", "/api/2.0/mlflow-artifacts/artifacts/1/a.txt", Role.Reader, false },

        // Inference: predictors, editors and admins run it; everyone may read metadata.
        { "POST", "/v2/models/e/infer", Role.Predictor, true },
        { "POST", "/v2/models/e/infer", Role.Reader, false },
        { "POST", "/v2/models/e/versions/blue/infer", Role.Editor, true },
        { "GET", "/v2/models/e", Role.Reader, true },
        { "GET", "/v2/models/e/ready", Role.Predictor, true },

        // Unknown areas under /api are closed to everyone but admins.
        { "GET", "/api/v9/anything", Role.Editor, false },
        { "GET", "/api/v9/anything", Role.Admin, true },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Role_matrix(string method, string path, Role role, bool allowed)
    {
        var rule = AccessPolicy.Rule(method, path);
        Assert.NotNull(rule);
        Assert.Equal(allowed, AccessPolicy.Refusal(As(role), rule) is null);
    }

    [Theory]
    [InlineData("/v2")]
    [InlineData("/v2/health/live")]
    [InlineData("/v2/health/ready")]
    [InlineData("/health")]
    [InlineData("/alive")]
    public void Health_and_server_metadata_are_public(string path) => Assert.Null(AccessPolicy.Rule("GET", path));

    [Theory]
    [InlineData("GET", "/API/V1/Keys")]
    [InlineData("get", "/Gateway/v1/stats")]
    [InlineData("GET", "/Api/2.0/MLflow/experiments/get")]
    public void Paths_are_matched_whatever_their_case(string method, string path)
    {
        var rule = AccessPolicy.Rule(method, path);
        Assert.NotNull(rule);
        Assert.NotNull(AccessPolicy.Refusal(As(Role.Predictor), rule));
    }

    [Fact]
    public void Endpoint_names_keep_their_case()
    {
        Assert.Equal("Fraud", AccessPolicy.Rule("POST", "/V2/Models/Fraud/Infer")!.Endpoint);
        Assert.Equal(Permission.Predict, AccessPolicy.Rule("POST", "/V2/Models/Fraud/Infer")!.Permission);
    }

    [Fact]
    public void Refusal_names_the_role_needed_and_the_role_held()
    {
        var message = AccessPolicy.Refusal(As(Role.Reader), AccessPolicy.Rule("PUT", "/api/v1/endpoints/e")!);
        Assert.Equal("This call needs the editor or admin role; 'ci' has the reader role.", message);
    }

    [Fact]
    public void Scoped_predictor_reaches_only_its_endpoints()
    {
        var scoped = As(Role.Predictor, "fraud");
        Assert.Null(AccessPolicy.Refusal(scoped, AccessPolicy.Rule("POST", "/v2/models/fraud/infer")!));
        var refusal = AccessPolicy.Refusal(scoped, AccessPolicy.Rule("POST", "/v2/models/churn/infer")!);
        Assert.NotNull(refusal);
        Assert.Contains("'churn'", refusal);
        Assert.NotNull(AccessPolicy.Refusal(scoped, AccessPolicy.Rule("GET", "/v2/models/churn")!));
    }

    [Theory]
    [InlineData("POST", "/api/v1/models/m/versions", true)]
    [InlineData("PUT", "/api/v1/endpoints/e", true)]
    [InlineData("DELETE", "/api/v1/keys/key_1", true)]
    [InlineData("POST", "/api/2.0/mlflow/runs/create", true)]
    [InlineData("POST", "/api/2.0/mlflow/runs/search", false)]
    [InlineData("GET", "/api/v1/models", false)]
    [InlineData("POST", "/v2/models/e/infer", false)]
    [InlineData("GET", "/v2/health/ready", false)]
    public void Mutating_calls_are_the_ones_that_change_state(string method, string path, bool mutating) =>
        Assert.Equal(mutating, AccessPolicy.IsMutating(method, path));
}
