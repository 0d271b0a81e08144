//! How the vocabulary's ids and closed word sets are stored, on either backend: ids as
//! integers (SQLite's INTEGER, PostgreSQL's BIGINT), word sets as TEXT by their words, so
//! that `query_as!` can read a column straight into `AgentStatus`, `MessageStatus` or
//! `DeliveryState` (`AS "status: AgentStatus"`). An unknown word in the database is a
//! decode error naming it, never a silent default. PostgreSQL's checked statements bind
//! these with `id as _` (its macros otherwise demand the column's own Rust type).

use crate::delivery::DeliveryState;
use crate::model::{AgentId, AgentStatus, FleetId, MessageStatus, TaskId};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

macro_rules! stored_as_text {
    ($($name:ty),+) => {$(
        impl<DB: Database> Type<DB> for $name
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let word = <&str as Decode<DB>>::decode(value)?;
                word.parse::<$name>().map_err(Into::into)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            String: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut DB::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <String as Encode<DB>>::encode(self.as_str().to_string(), buf)
            }
        }
    )+};
}

stored_as_text!(AgentStatus, MessageStatus, DeliveryState);

macro_rules! stored_as_integer {
    ($($name:ty),+) => {$(
        impl<DB: Database> Type<DB> for $name
        where
            i64: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            i64: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                <i64 as Decode<DB>>::decode(value).map(Self)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            i64: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut DB::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<DB>>::encode_by_ref(&self.0, buf)
            }
        }
    )+};
}

stored_as_integer!(FleetId, AgentId, TaskId);
