using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

[GrainType("mlgrid.model-catalog")]
public sealed class ModelCatalogGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<CatalogState> state) : Grain, IModelCatalogGrain
{
    public Task Add(string name) => Catalog.AddAsync(state, name);

    public Task Remove(string name) => Catalog.RemoveAsync(state, name);

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Names]);
}

[GrainType("mlgrid.endpoint-catalog")]
public sealed class EndpointCatalogGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<CatalogState> state) : Grain, IEndpointCatalogGrain
{
    public Task Add(string name) => Catalog.AddAsync(state, name);

    public Task Remove(string name) => Catalog.RemoveAsync(state, name);

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Names]);
}

internal static class Catalog
{
    public static async Task AddAsync(IPersistentState<CatalogState> state, string name)
    {
        if (state.State.Names.Add(name))
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Names.Remove(name);
                throw;
            }
        }
    }

    public static async Task RemoveAsync(IPersistentState<CatalogState> state, string name)
    {
        if (state.State.Names.Remove(name))
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Names.Add(name);
                throw;
            }
        }
    }
}
