/* The stack table: an instance of the insert-only table (lftable.c) keyed by
 * the return addresses; its hash comes from stack_walk(). */
#include "stacks.h"

#include "record/lftable.h"

#define SLOTS (1u << 19)

static _Atomic(struct lft_entry *) slots[SLOTS];
static _Atomic(struct lft_entry *) by_id[STACK_MAX_IDS + 1];
static struct lftable stacks = LFTABLE_INIT(slots, by_id, SLOTS, STACK_MAX_IDS, 64u << 20, 0);

uint32_t stack_id(const uint64_t *pcs, int n, uint64_t h)
{
	if (n <= 0)
		return 0;
	return lft_insert(&stacks, h, pcs, (uint32_t)n * sizeof(uint64_t));
}

const uint64_t *stack_lookup(uint32_t id, uint32_t *depth)
{
	const struct lft_entry *e = lft_get(&stacks, id);
	if (!e)
		return NULL;
	*depth = e->len / sizeof(uint64_t);
	return (const uint64_t *)(const void *)e->key;
}

uint64_t stack_overflows(void)
{
	return lft_overflows(&stacks);
}
