//! How the vocabulary's ids and closed word sets are stored: ids as INTEGER, word sets as
//! TEXT by their words, so that
//! `query_as!` can read a column straight into `AgentStatus`, `MessageStatus` or
//! `DeliveryState` (`AS "status: AgentStatus"`). An unknown word in the file is a decode
//! error naming it, never a silent default.

use crate::delivery::DeliveryState;
use crate::model::{AgentId, AgentStatus, FleetId, MessageStatus, TaskId};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Sqlite, Type};

macro_rules! stored_as_text {
    ($($name:ty),+) => {$(
        impl Type<Sqlite> for $name {
            fn type_info() -> SqliteTypeInfo {
                <&str as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <&str as Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $name {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                let word = <&str as Decode<Sqlite>>::decode(value)?;
                word.parse::<$name>().map_err(Into::into)
            }
        }

        impl<'q> Encode<'q, Sqlite> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut Vec<SqliteArgumentValue<'q>>,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Sqlite>>::encode_by_ref(&self.as_str(), buf)
            }
        }
    )+};
}

stored_as_text!(AgentStatus, MessageStatus, DeliveryState);

macro_rules! stored_as_integer {
    ($($name:ty),+) => {$(
        impl Type<Sqlite> for $name {
            fn type_info() -> SqliteTypeInfo {
                <i64 as Type<Sqlite>>::type_info()
            }
            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <i64 as Type<Sqlite>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $name {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                <i64 as Decode<Sqlite>>::decode(value).map(Self)
            }
        }

        impl<'q> Encode<'q, Sqlite> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut Vec<SqliteArgumentValue<'q>>,
            ) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<Sqlite>>::encode_by_ref(&self.0, buf)
            }
        }
    )+};
}

stored_as_integer!(FleetId, AgentId, TaskId);
