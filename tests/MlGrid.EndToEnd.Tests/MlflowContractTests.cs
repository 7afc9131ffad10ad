using System.Net;
using System.Text.Json;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

/// <summary>
/// Replays the calls of MLflow's REST API reference in the order a client makes them (tracking, artifacts, model
/// registry) and checks every answer against the messages MLflow's protobuf definitions declare: each field is one
/// MLflow defines for that message, with the JSON type MLflow's server writes (int64 as numbers, model version numbers
/// as strings, enums by name), and the fields every client reads are there. A field MlGrid invents, renames or types
/// differently fails here before it fails a client.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MlflowContractTests(MlGridFixture fixture)
{
    [Fact]
    public async Task Every_answer_is_shaped_as_mlflow_declares_it()
    {
        var client = new Mlflow(fixture.App.Gateway);
        var values = new Dictionary<string, string>
        {
            ["experiment"] = TestNames.Unique("contract"),
            ["model"] = TestNames.Unique("contract-model"),
            ["now"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };

        var checkedCalls = 0;
        foreach (var call in Calls)
        {
            if (call.Before is { } before)
            {
                await before(fixture.App, values);
            }

            var path = Fill(call.Path, values);
            object? body = call.Body is null ? null : JsonDocument.Parse(Fill(call.Body, values)).RootElement;
            var (status, answer) = call.Method switch
            {
                "GET" => await client.GetAsync(path),
                "POST" => await client.PostAsync(path, body!),
                _ => await client.SendAsync(new HttpMethod(call.Method), path, body!),
            };
            Assert.True(status == HttpStatusCode.OK, $"{call.Method} {path}: {(int)status} {answer}");

            var problems = new List<string>();
            Conform(answer, call.Response, $"{call.Method} {call.Path}", problems);
            Assert.True(problems.Count == 0, string.Join("\n", problems) + $"\nin: {answer}");
            call.Capture?.Invoke(answer, values);
            checkedCalls++;
        }

        Assert.Equal(Calls.Count, checkedCalls);
    }

    private static string Fill(string template, Dictionary<string, string> values) =>
        values.Aggregate(template, (text, pair) => text.Replace("{" + pair.Key + "}", pair.Value, StringComparison.Ordinal));

    /// <summary>The calls, in a client's order: each answer's message type, and the ids later calls need.</summary>
    private static readonly IReadOnlyList<Call> Calls =
    [
        new("POST", "experiments/create", """{"name":"{experiment}","tags":[{"key":"team","value":"risk"}]}""", "CreateExperiment.Response",
            Capture: (a, v) => v["experiment_id"] = a.GetProperty("experiment_id").GetString()!),
        new("GET", "experiments/get?experiment_id={experiment_id}", null, "GetExperiment.Response"),
        new("GET", "experiments/get-by-name?experiment_name={experiment}", null, "GetExperiment.Response"),
        new("POST", "experiments/search", """{"max_results":5,"filter":"name = '{experiment}'"}""", "SearchExperiments.Response"),
        new("POST", "experiments/set-experiment-tag", """{"experiment_id":"{experiment_id}","key":"k","value":"v"}""", "Empty"),
        new("POST", "experiments/update", """{"experiment_id":"{experiment_id}","new_name":"{experiment}-renamed"}""", "Empty"),
        new("POST", "runs/create", """{"experiment_id":"{experiment_id}","start_time":{now},"run_name":"contract","tags":[{"key":"t","value":"1"}]}""", "CreateRun.Response",
            Capture: (a, v) =>
            {
                v["run_id"] = a.GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
                v["artifact_root"] = a.GetProperty("run").GetProperty("info").GetProperty("artifact_uri").GetString()!["mlflow-artifacts:/".Length..];
            }),
        new("POST", "runs/log-metric", """{"run_id":"{run_id}","key":"loss","value":0.5,"timestamp":{now},"step":1}""", "Empty"),
        new("POST", "runs/log-parameter", """{"run_id":"{run_id}","key":"lr","value":"0.1"}""", "Empty"),
        new("POST", "runs/set-tag", """{"run_id":"{run_id}","key":"stage","value":"dev"}""", "Empty"),
        new("POST", "runs/log-batch", """{"run_id":"{run_id}","metrics":[{"key":"auc","value":"NaN","timestamp":{now},"step":0}],"params":[{"key":"depth","value":"4"}],"tags":[]}""", "Empty"),
        new("POST", "runs/log-inputs", """{"run_id":"{run_id}","datasets":[{"tags":[{"key":"mlflow.data.context","value":"training"}],"dataset":{"name":"d","digest":"abc","source_type":"local","source":"/tmp/d.csv","schema":"{}","profile":"{}"}}]}""", "Empty"),
        new("POST", "runs/delete-tag", """{"run_id":"{run_id}","key":"stage"}""", "Empty"),
        new("GET", "runs/get?run_id={run_id}", null, "GetRun.Response"),
        new("POST", "runs/search", """{"experiment_ids":["{experiment_id}"],"filter":"metrics.loss < 1","order_by":["start_time DESC"],"max_results":10}""", "SearchRuns.Response"),
        new("GET", "metrics/get-history?run_id={run_id}&metric_key=loss", null, "GetMetricHistory.Response"),
        new("GET", "metrics/get-history-bulk-interval?run_ids={run_id}&metric_key=loss&max_results=10", null, "GetMetricHistoryBulkInterval.Response"),
        new("GET", "artifacts/list?run_id={run_id}", null, "ListArtifacts.Response",
            Before: (app, v) => MlflowArtifactTests.PutAsync(app.Gateway, $"{v["artifact_root"]}/model/model.onnx", TestModels.Linear())),
        new("POST", "runs/update", """{"run_id":"{run_id}","status":"FINISHED","end_time":{now}}""", "UpdateRun.Response"),
        new("POST", "registered-models/create", """{"name":"{model}","tags":[{"key":"team","value":"risk"}],"description":"d"}""", "RegisteredModel.Response"),
        new("GET", "registered-models/get?name={model}", null, "RegisteredModel.Response"),
        new("PATCH", "registered-models/update", """{"name":"{model}","description":"d2"}""", "RegisteredModel.Response"),
        new("POST", "registered-models/set-tag", """{"name":"{model}","key":"k","value":"v"}""", "Empty"),
        new("DELETE", "registered-models/delete-tag", """{"name":"{model}","key":"k"}""", "Empty"),
        new("POST", "model-versions/create", """{"name":"{model}","source":"runs:/{run_id}/model","run_id":"{run_id}","tags":[{"key":"k","value":"v"}],"description":"first"}""", "ModelVersion.Response"),
        new("GET", "model-versions/get?name={model}&version=1", null, "ModelVersion.Response"),
        new("PATCH", "model-versions/update", """{"name":"{model}","version":"1","description":"first, checked"}""", "ModelVersion.Response"),
        new("POST", "model-versions/set-tag", """{"name":"{model}","version":"1","key":"validated","value":"yes"}""", "Empty"),
        new("DELETE", "model-versions/delete-tag", """{"name":"{model}","version":"1","key":"k"}""", "Empty"),
        new("POST", "model-versions/transition-stage", """{"name":"{model}","version":"1","stage":"Staging","archive_existing_versions":true}""", "ModelVersion.Response"),
        new("POST", "registered-models/alias", """{"name":"{model}","alias":"champion","version":"1"}""", "Empty"),
        new("GET", "registered-models/alias?name={model}&alias=champion", null, "ModelVersion.Response"),
        new("GET", "registered-models/get?name={model}", null, "RegisteredModel.Response"),
        new("POST", "registered-models/get-latest-versions", """{"name":"{model}","stages":["Staging"]}""", "GetLatestVersions.Response"),
        new("GET", "registered-models/search?filter=name%3D%27{model}%27&max_results=10", null, "SearchRegisteredModels.Response"),
        new("GET", "model-versions/search?filter=name%3D%27{model}%27&max_results=10", null, "SearchModelVersions.Response"),
        new("GET", "model-versions/get-download-uri?name={model}&version=1", null, "GetModelVersionDownloadUri.Response"),
        new("DELETE", "registered-models/alias", """{"name":"{model}","alias":"champion"}""", "Empty"),
        new("DELETE", "model-versions/delete", """{"name":"{model}","version":"1"}""", "Empty"),
        new("DELETE", "registered-models/delete", """{"name":"{model}"}""", "Empty"),
        new("POST", "runs/delete", """{"run_id":"{run_id}"}""", "Empty"),
        new("POST", "runs/restore", """{"run_id":"{run_id}"}""", "Empty"),
        new("POST", "experiments/delete", """{"experiment_id":"{experiment_id}"}""", "Empty"),
        new("POST", "experiments/restore", """{"experiment_id":"{experiment_id}"}""", "Empty"),
    ];

    /// <summary>
    /// MLflow's messages as its protobuf files declare them (service.proto, model_registry.proto): each field's JSON
    /// type, and whether clients rely on it being there. Field names are protobuf's, as MLflow's server writes them.
    /// </summary>
    private static readonly Dictionary<string, Dictionary<string, Field>> Messages = new()
    {
        ["Empty"] = [],
        ["CreateExperiment.Response"] = new() { ["experiment_id"] = Field.Str(required: true) },
        ["GetExperiment.Response"] = new() { ["experiment"] = Field.Msg("Experiment", required: true) },
        ["SearchExperiments.Response"] = new() { ["experiments"] = Field.List("Experiment"), ["next_page_token"] = Field.Str() },
        ["Experiment"] = new()
        {
            ["experiment_id"] = Field.Str(required: true),
            ["name"] = Field.Str(required: true),
            ["artifact_location"] = Field.Str(),
            ["lifecycle_stage"] = Field.Str(required: true),
            ["last_update_time"] = Field.Int64(),
            ["creation_time"] = Field.Int64(),
            ["tags"] = Field.List("Tag"),
        },
        ["Tag"] = new() { ["key"] = Field.Str(required: true), ["value"] = Field.Str() },
        ["CreateRun.Response"] = new() { ["run"] = Field.Msg("Run", required: true) },
        ["GetRun.Response"] = new() { ["run"] = Field.Msg("Run", required: true) },
        ["UpdateRun.Response"] = new() { ["run_info"] = Field.Msg("RunInfo", required: true) },
        ["SearchRuns.Response"] = new() { ["runs"] = Field.List("Run"), ["next_page_token"] = Field.Str() },
        ["Run"] = new() { ["info"] = Field.Msg("RunInfo", required: true), ["data"] = Field.Msg("RunData"), ["inputs"] = Field.Msg("RunInputs") },
        ["RunInfo"] = new()
        {
            ["run_id"] = Field.Str(required: true),
            ["run_uuid"] = Field.Str(),
            ["run_name"] = Field.Str(),
            ["experiment_id"] = Field.Str(required: true),
            ["user_id"] = Field.Str(),
            ["status"] = Field.Enum(required: true, "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"),
            ["start_time"] = Field.Int64(required: true),
            ["end_time"] = Field.Int64(),
            ["artifact_uri"] = Field.Str(required: true),
            ["lifecycle_stage"] = Field.Enum(required: true, "active", "deleted"),
        },
        ["RunData"] = new() { ["metrics"] = Field.List("Metric"), ["params"] = Field.List("Tag"), ["tags"] = Field.List("Tag") },
        ["Metric"] = new()
        {
            ["key"] = Field.Str(required: true),
            ["value"] = Field.Double(required: true),
            ["timestamp"] = Field.Int64(required: true),
            ["step"] = Field.Int64(required: true),
            ["run_id"] = Field.Str(),
        },
        ["RunInputs"] = new() { ["dataset_inputs"] = Field.List("DatasetInput") },
        ["DatasetInput"] = new() { ["tags"] = Field.List("Tag"), ["dataset"] = Field.Msg("Dataset", required: true) },
        ["Dataset"] = new()
        {
            ["name"] = Field.Str(required: true),
            ["digest"] = Field.Str(required: true),
            ["source_type"] = Field.Str(required: true),
            ["source"] = Field.Str(required: true),
            ["schema"] = Field.Str(),
            ["profile"] = Field.Str(),
        },
        ["GetMetricHistory.Response"] = new() { ["metrics"] = Field.List("Metric"), ["next_page_token"] = Field.Str() },
        ["GetMetricHistoryBulkInterval.Response"] = new() { ["metrics"] = Field.List("Metric") },
        ["ListArtifacts.Response"] = new() { ["root_uri"] = Field.Str(), ["files"] = Field.List("FileInfo"), ["next_page_token"] = Field.Str() },
        ["FileInfo"] = new() { ["path"] = Field.Str(required: true), ["is_dir"] = Field.Bool(required: true), ["file_size"] = Field.Int64() },
        ["RegisteredModel.Response"] = new() { ["registered_model"] = Field.Msg("RegisteredModel", required: true) },
        ["SearchRegisteredModels.Response"] = new() { ["registered_models"] = Field.List("RegisteredModel"), ["next_page_token"] = Field.Str() },
        ["RegisteredModel"] = new()
        {
            ["name"] = Field.Str(required: true),
            ["creation_timestamp"] = Field.Int64(required: true),
            ["last_updated_timestamp"] = Field.Int64(required: true),
            ["user_id"] = Field.Str(),
            ["description"] = Field.Str(),
            ["latest_versions"] = Field.List("ModelVersion"),
            ["tags"] = Field.List("Tag"),
            ["aliases"] = Field.List("RegisteredModelAlias"),
        },
        ["RegisteredModelAlias"] = new() { ["alias"] = Field.Str(required: true), ["version"] = Field.Str(required: true) },
        ["ModelVersion.Response"] = new() { ["model_version"] = Field.Msg("ModelVersion", required: true) },
        ["GetLatestVersions.Response"] = new() { ["model_versions"] = Field.List("ModelVersion") },
        ["SearchModelVersions.Response"] = new() { ["model_versions"] = Field.List("ModelVersion"), ["next_page_token"] = Field.Str() },
        ["GetModelVersionDownloadUri.Response"] = new() { ["artifact_uri"] = Field.Str(required: true) },
        ["ModelVersion"] = new()
        {
            ["name"] = Field.Str(required: true),
            ["version"] = Field.Str(required: true),
            ["creation_timestamp"] = Field.Int64(required: true),
            ["last_updated_timestamp"] = Field.Int64(required: true),
            ["user_id"] = Field.Str(),
            ["current_stage"] = Field.Enum(required: true, "None", "Staging", "Production", "Archived"),
            ["description"] = Field.Str(),
            ["source"] = Field.Str(required: true),
            ["run_id"] = Field.Str(),
            ["status"] = Field.Enum(required: true, "PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"),
            ["status_message"] = Field.Str(),
            ["tags"] = Field.List("Tag"),
            ["run_link"] = Field.Str(),
            ["aliases"] = Field.Strings(),
        },
    };

    private static void Conform(JsonElement value, string message, string where, List<string> problems)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{where}: expected a {message} object, got {value.ValueKind}");
            return;
        }

        var fields = Messages[message];
        foreach (var property in value.EnumerateObject())
        {
            if (!fields.TryGetValue(property.Name, out var field))
            {
                problems.Add($"{where}: {message} has no field '{property.Name}' in MLflow");
                continue;
            }

            Conform(property.Value, field, $"{where}.{property.Name}", problems);
        }

        foreach (var (name, field) in fields.Where(f => f.Value.Required))
        {
            if (!value.TryGetProperty(name, out _))
            {
                problems.Add($"{where}: {message} lacks '{name}', which MLflow's clients read");
            }
        }
    }

    private static void Conform(JsonElement value, Field field, string where, List<string> problems)
    {
        switch (field.Kind)
        {
            case FieldKind.String when value.ValueKind != JsonValueKind.String:
            case FieldKind.Bool when value.ValueKind is not (JsonValueKind.True or JsonValueKind.False):
                problems.Add($"{where}: expected {field.Kind}, got {value.ValueKind} {value.GetRawText()}");
                break;
            case FieldKind.Int64 when value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out _):
                problems.Add($"{where}: expected an int64 written as a JSON number, got {value.GetRawText()}");
                break;
            case FieldKind.Double when value.ValueKind != JsonValueKind.Number && value.GetString() is not ("NaN" or "Infinity" or "-Infinity"):
                problems.Add($"{where}: expected a double (a number, or NaN/Infinity as a string), got {value.GetRawText()}");
                break;
            case FieldKind.Enum when value.ValueKind != JsonValueKind.String || !field.Values!.Contains(value.GetString()!):
                problems.Add($"{where}: expected one of {string.Join(", ", field.Values!)}, got {value.GetRawText()}");
                break;
            case FieldKind.Message:
                Conform(value, field.Message!, where, problems);
                break;
            case FieldKind.List when value.ValueKind != JsonValueKind.Array:
                problems.Add($"{where}: expected a list, got {value.ValueKind}");
                break;
            case FieldKind.List:
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (field.Message is { } itemMessage)
                    {
                        Conform(item, itemMessage, $"{where}[{i}]", problems);
                    }
                    else if (item.ValueKind != JsonValueKind.String)
                    {
                        problems.Add($"{where}[{i}]: expected a string, got {item.GetRawText()}");
                    }

                    i++;
                }

                break;
        }
    }

    private sealed record Call(
        string Method,
        string Path,
        string? Body,
        string Response,
        Action<JsonElement, Dictionary<string, string>>? Capture = null,
        Func<MlGridApp, Dictionary<string, string>, Task>? Before = null);

    private enum FieldKind
    {
        String,
        Int64,
        Double,
        Bool,
        Enum,
        Message,
        List,
    }

    private sealed record Field(FieldKind Kind, bool Required, string? Message = null, string[]? Values = null)
    {
        public static Field Str(bool required = false) => new(FieldKind.String, required);

        public static Field Int64(bool required = false) => new(FieldKind.Int64, required);

        public static Field Double(bool required = false) => new(FieldKind.Double, required);

        public static Field Bool(bool required = false) => new(FieldKind.Bool, required);

        public static Field Enum(bool required, params string[] values) => new(FieldKind.Enum, required, Values: values);

        public static Field Msg(string message, bool required = false) => new(FieldKind.Message, required, message);

        public static Field List(string message) => new(FieldKind.List, false, message);

        public static Field Strings() => new(FieldKind.List, false);
    }
}
