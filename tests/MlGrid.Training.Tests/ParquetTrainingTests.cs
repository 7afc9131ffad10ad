using MlGrid.Datasets;
using Parquet;
using Parquet.Schema;

namespace MlGrid.Training.Tests;

public sealed class ParquetTrainingTests
{
    [Fact]
    public async Task A_parquet_version_trains_from_its_csv_form_with_the_plan_its_own_profile_gives()
    {
        var random = new Random(3);
        const int Rows = 800;
        var x1 = Enumerable.Range(0, Rows).Select(_ => random.NextDouble()).ToArray();
        var n = Enumerable.Range(0, Rows).Select(i => i % 17 == 0 ? (int?)null : random.Next(10)).ToArray();
        var city = Enumerable.Range(0, Rows).Select(_ => "abc"[random.Next(3)].ToString()).ToArray();
        var label = Enumerable.Range(0, Rows).Select(i => x1[i] + (city[i] == "b" ? 0.5 : 0) > 0.75).ToArray();
        var x1Field = new DataField<double>("x1");
        var nField = new DataField<int?>("n");
        var cityField = new DataField<string>("city", nullable: true);
        var labelField = new DataField<bool>("label");
        using var file = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(x1Field, nField, cityField, labelField), file))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<double>(x1Field, x1.AsMemory());
            await group.WriteAsync<int>(nField, n.AsMemory());
            await group.WriteAsync(cityField, city);
            await group.WriteAsync<bool>(labelField, label.AsMemory());
        }

        var parquetProfile = await ParquetProfiler.ProfileAsync(new MemoryStream(file.ToArray(), writable: false), CancellationToken.None);
        var csvPath = Path.Combine(Path.GetTempPath(), $"mlgrid-parquet-{Guid.NewGuid():N}.csv");
        try
        {
            await using (var csv = new StreamWriter(csvPath))
            {
                await ParquetProfiler.WriteCsvAsync(new MemoryStream(file.ToArray(), writable: false), csv, null, CancellationToken.None);
            }

            var plan = TrainingPlanner.Plan(new TrainingSpec(TrainingTasks.BinaryClassification, "label", null, "fasttree", new Dictionary<string, double>()), parquetProfile);
            var result = TabularTrainer.Train(csvPath, plan, null, CancellationToken.None);

            Assert.Equal(["x1", "n", "city"], plan.Features.Select(f => f.Name));
            Assert.True(result.Metrics["accuracy"] > 0.9, $"accuracy {result.Metrics["accuracy"]}");
            Assert.Equal(["x1", "n", "city"], result.OnnxInputs);
        }
        finally
        {
            File.Delete(csvPath);
        }
    }
}
